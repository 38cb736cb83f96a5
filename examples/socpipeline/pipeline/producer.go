package pipeline

import "github.com/socwarden/warden/audit"

// ForService returns a Producer that writes service as the source_service
// of every event p receives from it (unless the event names its own), so the
// trail records which service made each decision even though all of them
// share one Emitter. A nil p stays nil: the service then emits nothing.
func ForService(p audit.Producer, service string) audit.Producer {
	if p == nil {
		return nil
	}
	return serviceProducer{next: p, service: service}
}

type serviceProducer struct {
	next    audit.Producer
	service string
}

var _ audit.Producer = serviceProducer{}

// Emit stamps the service and forwards; the event is a copy, so the caller's
// value is untouched and nothing is retained.
func (s serviceProducer) Emit(e audit.Event) (string, bool) {
	if e.SourceService == "" {
		e.SourceService = s.service
	}
	return s.next.Emit(e)
}
