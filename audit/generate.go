package audit

// The gomock mocks of the ports, for services' unit tests.
//go:generate go tool mockgen -destination=auditmock/mocks.go -package=auditmock -typed github.com/socwarden/warden/audit Producer,Sink
