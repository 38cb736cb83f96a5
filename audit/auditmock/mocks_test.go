package auditmock_test

import (
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/socwarden/warden/audit"
	"github.com/socwarden/warden/audit/auditmock"
	"github.com/socwarden/warden/taxonomy"
)

// The mock is how a service test asserts exactly which events it emitted.
func TestMockProducerRecordsCalls(t *testing.T) {
	ctrl := gomock.NewController(t)
	p := auditmock.NewMockProducer(ctrl)
	p.EXPECT().
		Emit(gomock.Cond(func(ev audit.Event) bool { return ev.Type == taxonomy.InjectionDetected })).
		Return("id-1", true).
		Times(1)
	id, ok := p.Emit(audit.Event{Type: taxonomy.InjectionDetected})
	if id != "id-1" || !ok {
		t.Fatalf("got %q %v", id, ok)
	}
}
