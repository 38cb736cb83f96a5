// Package offline is a deterministic stand-in for an LLM. It calls no model
// and makes no network request: every answer is computed from the request
// alone, so examples, demos and tests run anywhere and give the same output
// every time. Its answers say so ("[offline provider: no model was called]"),
// and its model id is "offline-deterministic-v1".
//
// A request with an object output schema gets a JSON object with every
// required and declared property filled by type; any other request gets a
// short text naming the pseudonymised entities (IP_SRC_001, USER_001, …)
// and technique ids found in the evidence, which is enough to watch the
// gateway restore PII and validate ids end to end.
package offline

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/socwarden/warden/gateway"
)

// ModelID is the model the offline client reports.
const ModelID = "offline-deterministic-v1"

// Notice starts every text answer.
const Notice = "[offline provider: no model was called]"

// Client is the offline stand-in. It is immutable and safe for concurrent
// use.
type Client struct {
	provider gateway.Provider
	model    string
}

var (
	_ gateway.LLMClient      = (*Client)(nil)
	_ gateway.DefaultModeler = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client) error

// WithProvider sets the provider the client reports, so it can stand in for
// a routed provider. This overrides the default of local.
func WithProvider(p gateway.Provider) Option {
	return func(c *Client) error {
		if strings.TrimSpace(string(p)) == "" {
			return errors.New("offline: empty provider")
		}
		c.provider = p
		return nil
	}
}

// WithModelID sets the model id reported for requests that name none. This
// overrides the default of offline-deterministic-v1.
func WithModelID(id string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(id) == "" {
			return errors.New("offline: empty model id")
		}
		c.model = id
		return nil
	}
}

// New returns an offline client.
func New(opts ...Option) (*Client, error) {
	c := &Client{provider: gateway.ProviderLocal, model: ModelID}
	var errs []error
	for _, o := range opts {
		if o != nil {
			errs = append(errs, o(c))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Provider is local unless WithProvider says otherwise.
func (c *Client) Provider() gateway.Provider { return c.provider }

// DefaultModel is the model id reported for requests that name none.
func (c *Client) DefaultModel() string { return c.model }

// Complete answers req deterministically. It fails only when ctx is done.
func (c *Client) Complete(ctx context.Context, req gateway.LLMRequest) (gateway.LLMResponse, error) {
	if err := ctx.Err(); err != nil {
		return gateway.LLMResponse{}, err
	}
	var user strings.Builder
	for _, m := range req.Messages {
		user.WriteString(m.Content)
		user.WriteByte('\n')
	}
	summary := summarise(user.String())
	text := Notice + " " + summary
	if obj, ok := objectSchema(req.OutputSchema); ok {
		text = fill(obj, summary)
	}
	model := req.Model
	if model == "" {
		model = c.model
	}
	return gateway.LLMResponse{Text: text, ModelID: model, StopReason: "end_turn", RequestID: "offline",
		Usage: gateway.Usage{InputTokens: gateway.EstimateTokens(req.System) + gateway.EstimateTokens(user.String()),
			OutputTokens: gateway.EstimateTokens(text)}}, nil
}

// placeholderPrefixes are the gateway's pattern-stage prefixes.
var placeholderPrefixes = []string{gateway.PrefixIP + "_", gateway.PrefixUser + "_", gateway.PrefixHost + "_"}

// summarise names the placeholders and technique ids of the evidence, each
// once, in order of first appearance.
func summarise(evidence string) string {
	var ents []string
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(evidence, func(r rune) bool {
		return !(r == '_' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	}) {
		for _, p := range placeholderPrefixes {
			if rest, ok := strings.CutPrefix(f, p); ok && len(rest) >= 3 && strings.Trim(rest, "0123456789") == "" && !seen[f] {
				seen[f] = true
				ents = append(ents, f)
			}
		}
	}
	var b strings.Builder
	b.WriteString("Evidence reviewed (")
	b.WriteString(strconv.Itoa(len(evidence)))
	b.WriteString(" bytes).")
	if len(ents) > 0 {
		b.WriteString(" Entities: " + strings.Join(ents, ", ") + ".")
	}
	if ids := gateway.IdentifyTechniques(evidence); len(ids) > 0 {
		b.WriteString(" Techniques: " + strings.Join(ids, ", ") + ".")
	}
	return b.String()
}

func objectSchema(s json.RawMessage) (map[string]any, bool) {
	var m map[string]any
	if len(s) == 0 || json.Unmarshal(s, &m) != nil || m["type"] != "object" {
		return nil, false
	}
	return m, true
}

// fill builds an object satisfying the schema's required fields and
// declared property types: strings carry the summary, numbers 0.5,
// integers 0, booleans false, arrays [] and objects {}.
func fill(schema map[string]any, summary string) string {
	props, _ := schema["properties"].(map[string]any)
	names := map[string]bool{}
	for k := range props {
		names[k] = true
	}
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				names[s] = true
			}
		}
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		p, _ := props[k].(map[string]any)
		t, _ := p["type"].(string)
		switch t {
		case "number":
			out[k] = 0.5
		case "integer":
			out[k] = 0
		case "boolean":
			out[k] = false
		case "array":
			out[k] = []any{}
		case "object":
			out[k] = map[string]any{}
		case "null":
			out[k] = nil
		default:
			out[k] = Notice + " " + summary
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}
