package response

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/socwarden/warden/audit"
)

// One action end to end: grade, open the gate, auto-approve through the
// approver port, execute through the executor, with events going to a
// producer that discards them.
func BenchmarkPrepareApproveExecute(b *testing.B) {
	em, err := audit.New(audit.JSONLines(io.Discard), audit.WithRingSize(1<<16))
	if err != nil {
		b.Fatal(err)
	}
	defer em.Close(context.Background())
	for _, bc := range []struct {
		name string
		p    audit.Producer
	}{{"no-audit", nil}, {"discard-producer", discardProducer{}}, {"emitter", em}} {
		b.Run(bc.name, func(b *testing.B) {
			grant := ApproverFunc(func(_ context.Context, a Approval) (Decision, bool, error) {
				return approve("policy", RoleSeniorAnalyst), true, nil
			})
			r, err := New(NewDryRunExecutor(), WithApprover(grant), WithAuditProducer(bc.p))
			if err != nil {
				b.Fatal(err)
			}
			c := testCase("high", act("isolate_host", "h1", 0))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				c.InvestigationID = "inv-" + strconv.Itoa(i)
				a, err := r.Open(bg, c, nil)
				if err != nil || a.State != StateGranted {
					b.Fatal(err, a.State)
				}
				c.ApprovalID = a.ApprovalID
				rep, err := r.Respond(bg, c)
				if err != nil || rep.Results[0].Status != ActionExecuted {
					b.Fatal(err)
				}
			}
		})
	}
}

// The auto path: a tier-0 action with no gate.
func BenchmarkRespondAuto(b *testing.B) {
	r, err := New(NewDryRunExecutor())
	if err != nil {
		b.Fatal(err)
	}
	c := testCase("low", act("monitor", "h1", 0))
	b.ReportAllocs()
	for i := range b.N {
		c.InvestigationID = "inv-" + strconv.Itoa(i)
		if _, err := r.Respond(bg, c); err != nil {
			b.Fatal(err)
		}
	}
}

type discardProducer struct{}

func (discardProducer) Emit(audit.Event) (string, bool) { return "", true }
