package entityparser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sources: the adapters' names, also CanonicalAlert.Source and DataSource.
const (
	SourceSentinel    = "sentinel"
	SourceElastic     = "elastic"
	SourceSplunk      = "splunk"
	SourceCrowdStrike = "crowdstrike"
	SourceDefender    = "defender"
)

// Sources lists the adapters Normalize dispatches to.
func Sources() []string {
	return []string{SourceSentinel, SourceElastic, SourceSplunk, SourceCrowdStrike, SourceDefender}
}

// ErrUnknownSource is returned by Normalize for a source it has no adapter
// for.
var ErrUnknownSource = errors.New("entityparser: unknown alert source (want sentinel, elastic, splunk, crowdstrike or defender)")

// Normalize turns one raw SIEM/EDR event into a CanonicalAlert. It returns
// (alert, true, nil), (zero, false, nil) for a health-check or heartbeat to
// drop, or an error wrapping ErrInvalidAlert when the event is not a JSON
// object or the result fails validation. now stamps Splunk events without
// _time.
func Normalize(source string, raw []byte, now time.Time) (CanonicalAlert, bool, error) {
	switch trimLower(source) {
	case SourceSentinel:
		return NormalizeSentinel(raw)
	case SourceElastic:
		return NormalizeElastic(raw)
	case SourceSplunk:
		return NormalizeSplunk(raw, now)
	case SourceCrowdStrike:
		return NormalizeCrowdStrike(raw)
	case SourceDefender:
		return NormalizeDefender(raw)
	}
	return CanonicalAlert{}, false, fmt.Errorf("%w: %q", ErrUnknownSource, source)
}

// Normalize is the package function with the Parser's clock.
func (p *Parser) Normalize(source string, raw []byte) (CanonicalAlert, bool, error) {
	return Normalize(source, raw, p.cfg.clock())
}

// ---- JSON helpers ----

func decodeEvent(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &ValidationError{Reason: "event is not JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &ValidationError{Reason: "event is not a single JSON value"}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &ValidationError{Reason: "event is not a JSON object"}
	}
	return m, nil
}

// lookup finds a dotted path in a document that mixes flat dotted keys
// ("kibana.alert.rule.name") and nested objects ("host": {"name": …}),
// preferring the longest literal key at each level.
func lookup(doc map[string]any, p string) any {
	if v, ok := doc[p]; ok {
		return v
	}
	for i := len(p) - 1; i > 0; i-- {
		if p[i] != '.' {
			continue
		}
		if sub, ok := doc[p[:i]].(map[string]any); ok {
			if v := lookup(sub, p[i+1:]); v != nil {
				return v
			}
		}
	}
	return nil
}

// str returns a string member; non-strings count as absent.
func str(doc map[string]any, p string) (string, bool) {
	s, ok := lookup(doc, p).(string)
	return s, ok
}

// nonEmpty returns the first non-empty string member of paths.
func nonEmpty(doc map[string]any, paths ...string) string {
	for _, p := range paths {
		if s, ok := str(doc, p); ok && strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func orDefault(s string, ok bool, def string) string {
	if !ok {
		return def
	}
	return s
}

// text renders a scalar as text: strings as is, numbers by literal.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// stringList returns the non-empty trimmed strings of an array member, or
// the comma-separated items of a string member.
func stringList(v any) []string {
	out := []string{}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s := strings.TrimSpace(text(e)); s != "" {
				out = append(out, s)
			}
		}
	case string:
		for s := range strings.SplitSeq(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		if it != "" && !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// severityOr lower-cases s and returns it if it is one of the five values,
// else def.
func severityOr(s string, def Severity) Severity {
	if v := Severity(trimLower(s)); v.Valid() {
		return v
	}
	return def
}

var attackIDRe = regexp.MustCompile(`\AT\d{4}(?:\.\d{3})?\z`)

// entityBuilder assembles a Sentinel-style entity array with sequential
// $ids.
type entityBuilder struct {
	items []map[string]any
	seen  map[string]bool
}

func (b *entityBuilder) add(typ string, fields map[string]any) string {
	id := strconv.Itoa(len(b.items) + 1)
	e := map[string]any{"$id": id, "Type": typ}
	for k, v := range fields {
		e[k] = v
	}
	b.items = append(b.items, e)
	return id
}

// once adds an entity unless the same type and key were added before.
func (b *entityBuilder) once(typ, key string, fields map[string]any) {
	if key == "" {
		return
	}
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	k := typ + "\x00" + strings.ToLower(key)
	if b.seen[k] {
		return
	}
	b.seen[k] = true
	b.add(typ, fields)
}

// ipOrHost adds an ip entity for an address, else a host entity.
func (b *entityBuilder) ipOrHost(v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	if ValidIP(v) {
		b.once("ip", v, map[string]any{"Address": v})
		return
	}
	b.once("host", v, map[string]any{"HostName": v})
}

func (b *entityBuilder) ip(v string) {
	if v = strings.TrimSpace(v); ValidIP(v) {
		b.once("ip", v, map[string]any{"Address": v})
	}
}

func (b *entityBuilder) account(name, upnSuffix, sid string) {
	if name == "" {
		return
	}
	f := map[string]any{"Name": name}
	if upnSuffix != "" {
		f["UPNSuffix"] = upnSuffix
	}
	if sid != "" {
		f["Sid"] = sid
	}
	b.once("account", name+"@"+upnSuffix, f)
}

// upnAccount splits user@domain into an account.
func (b *entityBuilder) upnAccount(upn, sid string) {
	name, dom, ok := strings.Cut(upn, "@")
	if !ok {
		b.account(upn, "", sid)
		return
	}
	b.account(name, dom, sid)
}

// hashes returns FileHashes items for the valid, non-zero hashes given.
func hashes(algValue ...string) []any {
	var out []any
	for i := 0; i+1 < len(algValue); i += 2 {
		v := strings.TrimSpace(algValue[i+1])
		if v == "" || strings.Trim(v, "0") == "" || !ValidHash(v, algValue[i]) {
			continue
		}
		out = append(out, map[string]any{"Algorithm": algValue[i], "Value": v})
	}
	return out
}

// file adds a file entity (with its hashes) for a path or name.
func (b *entityBuilder) file(fullPath, name string, fileHashes []any) {
	if name == "" && fullPath != "" {
		name = fileName(fullPath)
	}
	if name == "" && len(fileHashes) == 0 {
		return
	}
	f := map[string]any{}
	if name != "" {
		f["Name"] = name
	}
	if dir := dirOf(fullPath, name); dir != "" {
		f["Directory"] = dir
	}
	if len(fileHashes) > 0 {
		f["FileHashes"] = fileHashes
	}
	b.once("file", fullPath+"\x00"+name+"\x00"+fmt.Sprint(fileHashes), f)
}

// dirOf is the directory part of a Windows or POSIX path ending in name.
func dirOf(fullPath, name string) string {
	if fullPath == "" || !strings.HasSuffix(fullPath, name) {
		return ""
	}
	d := strings.TrimRight(strings.TrimSuffix(fullPath, name), `\/`)
	if d == "" && strings.HasPrefix(fullPath, "/") {
		return "/"
	}
	return d
}

func (b *entityBuilder) process(pid, cmdline, image string) {
	if pid == "" && cmdline == "" && image == "" {
		return
	}
	f := map[string]any{"ProcessId": pid, "CommandLine": cmdline}
	if image != "" {
		f["ImageFile"] = map[string]any{"Name": image}
	}
	b.once("process", pid+"\x00"+cmdline+"\x00"+image, f)
}

func (b *entityBuilder) json() string {
	if len(b.items) == 0 {
		return "[]"
	}
	out, _ := json.Marshal(b.items)
	return string(out)
}

// finish validates a built alert; an invalid one is an error wrapping
// ErrInvalidAlert.
func finish(a CanonicalAlert, raw []byte) (CanonicalAlert, bool, error) {
	a.RawPayload = json.RawMessage(bytes.TrimSpace(raw))
	if a.Tactics == nil {
		a.Tactics = []string{}
	}
	if a.Techniques == nil {
		a.Techniques = []string{}
	}
	if err := a.Validate(); err != nil {
		return CanonicalAlert{}, false, err
	}
	return a, true, nil
}

var heartbeatNames = []string{"heartbeat", "test alert", "health check"}

// ---- Microsoft Sentinel ----

// NormalizeSentinel maps a Sentinel SecurityAlert: the Log Analytics row
// (AlertName, TimeGenerated, Entities as JSON text, …) or the REST API
// entity (properties.alertDisplayName, properties.timeGenerated, tactics as
// an array, …); a REST API incident (properties.title) is accepted too.
func NormalizeSentinel(raw []byte) (CanonicalAlert, bool, error) {
	doc, err := decodeEvent(raw)
	if err != nil {
		return CanonicalAlert{}, false, err
	}
	if props, ok := doc["properties"].(map[string]any); ok {
		return sentinelAPI(doc, props, raw)
	}
	name, _ := str(doc, "AlertName")
	if slices.Contains(heartbeatNames, trimLower(name)) {
		return CanonicalAlert{}, false, nil
	}
	id, _ := str(doc, "SystemAlertId")
	ts, _ := str(doc, "TimeGenerated")
	desc, _ := str(doc, "Description")
	sev, _ := str(doc, "Severity")
	product, _ := str(doc, "ProductName")
	tenant, okT := str(doc, "TenantId")
	ents, okE := str(doc, "Entities")
	a := CanonicalAlert{
		AlertID: id, Source: SourceSentinel, Timestamp: ts, Title: name, Description: desc,
		Severity:    sentinelSeverity(sev),
		Tactics:     stringList(lookup(doc, "Tactics")),
		Techniques:  stringList(lookup(doc, "Techniques")),
		EntitiesRaw: orDefault(ents, okE, "[]"),
		Product:     product,
		TenantID:    orDefault(tenant, okT, DefaultTenant),
		DataSource:  SourceSentinel, RuleFamily: name,
	}
	return finish(a, raw)
}

// sentinelSeverity: trimmed and lower-cased; absent or empty is medium,
// other values are not mapped (so "Unknown" fails validation).
func sentinelSeverity(s string) Severity {
	if strings.TrimSpace(s) == "" {
		return SeverityMedium
	}
	return Severity(trimLower(s))
}

func sentinelAPI(doc, props map[string]any, raw []byte) (CanonicalAlert, bool, error) {
	incident := strings.HasSuffix(text(doc["type"]), "/incidents")
	title := nonEmpty(props, "alertDisplayName", "displayName", "title", "alertName")
	if slices.Contains(heartbeatNames, trimLower(title)) {
		return CanonicalAlert{}, false, nil
	}
	id := nonEmpty(props, "systemAlertId", "providerAlertId")
	if id == "" {
		id = text(doc["name"])
	}
	tenant := nonEmpty(props, "tenantId", "TenantId")
	if tenant == "" {
		tenant = DefaultTenant
	}
	a := CanonicalAlert{
		AlertID: id, Source: SourceSentinel,
		Timestamp:   nonEmpty(props, "timeGenerated", "createdTimeUtc", "startTimeUtc"),
		Title:       title,
		Description: nonEmpty(props, "description"),
		Severity:    sentinelSeverity(nonEmpty(props, "severity")),
		Tactics:     stringList(lookup(props, "tactics")),
		Techniques:  stringList(lookup(props, "techniques")),
		EntitiesRaw: "[]",
		Product:     nonEmpty(props, "productName", "providerName"),
		TenantID:    tenant,
		DataSource:  SourceSentinel,
		RuleFamily:  nonEmpty(props, "alertType", "alertDisplayName", "title"),
	}
	if incident {
		a.Tactics = stringList(lookup(props, "additionalData.tactics"))
		a.RuleFamily = title
		if n := text(props["incidentNumber"]); n != "" {
			a.AlertID = text(doc["name"])
		}
	}
	switch e := props["entities"].(type) {
	case string:
		a.EntitiesRaw = e
	case []any:
		b, _ := json.Marshal(e)
		a.EntitiesRaw = string(b)
	}
	return finish(a, raw)
}

// ---- Elastic Security ----

var elasticDropNames = []string{"heartbeat", "test alert", "health check", "endpoint heartbeat", "system health monitor"}

// NormalizeElastic maps an Elastic Security alert: Kibana 8.x documents
// with flat kibana.alert.* keys and ECS objects, and the older signal.*
// shape. The alert is identified by its own id (kibana.alert.uuid, else
// _id, id or signal.id), never by its rule's id, so alerts of one rule do
// not collide.
func NormalizeElastic(raw []byte) (CanonicalAlert, bool, error) {
	doc, err := decodeEvent(raw)
	if err != nil {
		return CanonicalAlert{}, false, err
	}
	name := nonEmpty(doc, "kibana.alert.rule.name", "signal.rule.name", "rule.name")
	if slices.Contains(elasticDropNames, trimLower(name)) {
		return CanonicalAlert{}, false, nil
	}
	tactics, techniques := elasticThreat(doc)
	tenant := DefaultTenant
	if spaces, ok := doc["kibana.space_ids"].([]any); ok && len(spaces) > 0 && text(spaces[0]) != "" {
		tenant = text(spaces[0])
	} else if t, ok := str(doc, "tenant_id"); ok {
		tenant = t
	}
	sev := nonEmpty(doc, "kibana.alert.severity", "kibana.alert.rule.severity", "signal.rule.severity")
	product, okP := str(doc, "agent.type")
	ts, _ := str(doc, "@timestamp")
	a := CanonicalAlert{
		AlertID: nonEmpty(doc, "kibana.alert.uuid", "_id", "id", "signal.id"), Source: SourceElastic,
		Timestamp: ts, Title: name,
		Description: nonEmpty(doc, "kibana.alert.reason", "kibana.alert.rule.description", "signal.rule.description",
			"kibana.alert.rule.parameters.description", "rule.description"),
		Severity: severityOr(sev, SeverityMedium), Tactics: tactics, Techniques: techniques,
		EntitiesRaw: elasticEntities(doc), Product: orDefault(product, okP, "elastic"), TenantID: tenant,
		DataSource: SourceElastic, RuleFamily: name,
	}
	return finish(a, raw)
}

// elasticThreat collects tactic names and technique/sub-technique ids from
// the first threat list that yields any: the rule's parameters, the rule,
// the older signal.rule, then the event's own ECS threat field.
func elasticThreat(doc map[string]any) ([]string, []string) {
	tactics, techniques := []string{}, []string{}
	for _, p := range []string{"kibana.alert.rule.parameters.threat", "kibana.alert.rule.threat", "signal.rule.threat", "threat"} {
		items, _ := lookup(doc, p).([]any)
		for _, it := range items {
			t, _ := it.(map[string]any)
			if t == nil {
				continue
			}
			if n, ok := str(t, "tactic.name"); ok {
				tactics = appendUnique(tactics, n)
			}
			techs, _ := t["technique"].([]any)
			for _, te := range techs {
				tm, _ := te.(map[string]any)
				if tm == nil {
					continue
				}
				techniques = appendUnique(techniques, text(tm["id"]))
				subs, _ := tm["subtechnique"].([]any)
				for _, s := range subs {
					if sm, ok := s.(map[string]any); ok {
						techniques = appendUnique(techniques, text(sm["id"]))
					}
				}
			}
		}
		if len(tactics) > 0 || len(techniques) > 0 {
			break
		}
	}
	return tactics, techniques
}

func elasticEntities(doc map[string]any) string {
	var b entityBuilder
	if h := nonEmpty(doc, "host.name"); h != "" {
		fam, _ := str(doc, "host.os.family")
		b.once("host", h, map[string]any{"HostName": h, "OSFamily": fam})
	}
	if u := nonEmpty(doc, "user.name"); u != "" {
		b.account(u, nonEmpty(doc, "user.domain"), "")
	}
	for _, a := range stringList(lookup(doc, "host.ip")) {
		if addr, err := netip.ParseAddr(a); err == nil && !addr.IsLoopback() {
			b.ip(a)
		}
	}
	b.ip(nonEmpty(doc, "source.ip"))
	b.ip(nonEmpty(doc, "destination.ip"))
	pid := text(lookup(doc, "process.pid"))
	pname := nonEmpty(doc, "process.name")
	if pname != "" || truthy(lookup(doc, "process.pid")) {
		cmd, ok := str(doc, "process.command_line")
		if args, isList := lookup(doc, "process.args").([]any); !ok && isList {
			parts := make([]string, 0, len(args))
			for _, a := range args {
				parts = append(parts, text(a))
			}
			cmd = strings.Join(parts, " ")
		}
		b.process(pid, cmd, pname)
		if exe := nonEmpty(doc, "process.executable"); exe != "" {
			b.file(exe, "", hashes("MD5", nonEmpty(doc, "process.hash.md5"), "SHA1", nonEmpty(doc, "process.hash.sha1"),
				"SHA256", nonEmpty(doc, "process.hash.sha256")))
		}
	}
	if fp, fn := nonEmpty(doc, "file.path"), nonEmpty(doc, "file.name"); fp != "" || fn != "" {
		b.file(fp, fn, hashes("MD5", nonEmpty(doc, "file.hash.md5"), "SHA1", nonEmpty(doc, "file.hash.sha1"),
			"SHA256", nonEmpty(doc, "file.hash.sha256")))
	}
	if d := nonEmpty(doc, "dns.question.name", "destination.domain", "url.domain"); d != "" {
		b.once("dns", d, map[string]any{"DomainName": d})
	}
	if u := nonEmpty(doc, "url.full", "url.original"); u != "" {
		b.once("url", u, map[string]any{"Url": u})
	}
	if orig, ok := lookup(doc, "signal.original_event").(map[string]any); ok {
		for _, k := range []string{"source_ip", "dest_ip"} {
			if s, ok := orig[k].(string); ok && s != "" {
				b.once("ip", s, map[string]any{"Address": s})
			}
		}
		if s, ok := orig["user"].(string); ok && s != "" {
			b.account(s, "", "")
		}
	}
	return b.json()
}

// ---- Splunk Enterprise Security ----

// NormalizeSplunk maps a Splunk ES notable event. now stamps events
// without _time.
func NormalizeSplunk(raw []byte, now time.Time) (CanonicalAlert, bool, error) {
	doc, err := decodeEvent(raw)
	if err != nil {
		return CanonicalAlert{}, false, err
	}
	search, _ := str(doc, "search_name")
	if strings.HasPrefix(search, "Health") {
		return CanonicalAlert{}, false, nil
	}
	title := search
	if strings.TrimSpace(title) == "" {
		title = nonEmpty(doc, "rule_title", "rule_name")
	}
	id, ok := str(doc, "event_id")
	if !ok {
		id, _ = str(doc, "sid")
	}
	desc, _ := str(doc, "description")
	product, okP := str(doc, "source")
	tenant, okT := str(doc, "tenant_id")
	mitre := lookup(doc, "annotations.mitre_attack")
	var tactics, techniques []string
	if m, ok := mitre.(map[string]any); ok {
		tactics, techniques = stringList(m["mitre_tactic"]), stringList(m["mitre_technique_id"])
	} else {
		tactics, techniques = stringList(lookup(doc, "annotations.mitre_attack.mitre_tactic")), stringList(lookup(doc, "annotations.mitre_attack.mitre_technique_id"))
	}
	a := CanonicalAlert{
		AlertID: id, Source: SourceSplunk, Timestamp: splunkTime(doc["_time"], now), Title: title,
		Description: desc, Severity: splunkUrgency(text(doc["urgency"])), Tactics: tactics, Techniques: techniques,
		EntitiesRaw: splunkEntities(doc), Product: orDefault(product, okP, "splunk_es"),
		TenantID: orDefault(tenant, okT, DefaultTenant), DataSource: SourceSplunk,
		RuleFamily: nonEmpty(doc, "search_name", "rule_name", "rule_title"),
	}
	return finish(a, raw)
}

func splunkUrgency(u string) Severity {
	if trimLower(u) == "info" {
		return SeverityInformational
	}
	return severityOr(u, SeverityMedium)
}

// splunkTime renders _time: absent or empty → now; a number (or numeric
// string) of epoch seconds → UTC "2006-01-02T15:04:05+00:00" with six
// fraction digits when there is a fraction; any other string verbatim.
func splunkTime(v any, now time.Time) string {
	var secs float64
	switch x := v.(type) {
	case nil:
		return formatSplunk(now)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return string(x)
		}
		secs = f
	case string:
		if strings.TrimSpace(x) == "" {
			return formatSplunk(now)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return x
		}
		secs = f
	default:
		return formatSplunk(now)
	}
	whole, frac := math.Modf(secs)
	return formatSplunk(time.Unix(int64(whole), int64(math.Round(frac*1e6))*1000))
}

func formatSplunk(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000") + "+00:00"
	}
	return t.Format("2006-01-02T15:04:05") + "+00:00"
}

func splunkEntities(doc map[string]any) string {
	var b entityBuilder
	for _, k := range []string{"src", "src_ip", "dest", "dest_ip"} {
		if s, ok := doc[k].(string); ok {
			b.ipOrHost(s)
		}
	}
	for _, k := range []string{"src_host", "dest_host", "dest_dns", "src_dns", "dest_nt_host", "src_nt_host"} {
		if s, ok := doc[k].(string); ok && strings.TrimSpace(s) != "" {
			b.once("host", s, map[string]any{"HostName": strings.TrimSpace(s)})
		}
	}
	for _, k := range []string{"user", "src_user", "dest_user"} {
		if s, ok := doc[k].(string); ok && s != "" {
			b.account(s, "", "")
		}
	}
	pname, ok := doc["process_name"].(string)
	if !ok {
		pname, _ = doc["process"].(string)
	}
	if pname != "" {
		exec, _ := doc["process_exec"].(string)
		b.process(text(doc["process_id"]), exec, pname)
	}
	for _, k := range []string{"file_hash", "hash"} {
		if s, ok := doc[k].(string); ok {
			b.file(text(doc["file_path"]), text(doc["file_name"]), hashes("", s))
		}
	}
	return b.json()
}

// ---- CrowdStrike Falcon ----

// NormalizeCrowdStrike maps a Falcon Alerts API record (endpoint, identity
// protection and on-demand-scan detections).
func NormalizeCrowdStrike(raw []byte) (CanonicalAlert, bool, error) {
	doc, err := decodeEvent(raw)
	if err != nil {
		return CanonicalAlert{}, false, err
	}
	name := nonEmpty(doc, "name", "display_name", "scenario")
	title := nonEmpty(doc, "display_name", "name")
	sev := severityOr(nonEmpty(doc, "severity_name"), "")
	if sev == "" {
		sev = falconSeverity(lookup(doc, "severity"))
	}
	var tactics, techniques []string
	if t := nonEmpty(doc, "tactic"); t != "" {
		tactics = []string{t}
	}
	if t := nonEmpty(doc, "technique_id"); attackIDRe.MatchString(t) {
		techniques = []string{t}
	}
	product := "falcon"
	if p := nonEmpty(doc, "product"); p != "" {
		product = "falcon_" + p
	}
	tenant := nonEmpty(doc, "cid")
	if tenant == "" {
		tenant = DefaultTenant
	}
	a := CanonicalAlert{
		AlertID: nonEmpty(doc, "composite_id", "id"), Source: SourceCrowdStrike,
		Timestamp: nonEmpty(doc, "created_timestamp", "timestamp"), Title: title,
		Description: nonEmpty(doc, "description"), Severity: sev, Tactics: tactics, Techniques: techniques,
		EntitiesRaw: falconEntities(doc), Product: product, TenantID: tenant,
		DataSource: SourceCrowdStrike, RuleFamily: name,
	}
	return finish(a, raw)
}

// falconSeverity buckets Falcon's 0–100 severity.
func falconSeverity(v any) Severity {
	n, err := strconv.ParseFloat(text(v), 64)
	switch {
	case err != nil:
		return SeverityMedium
	case n >= 80:
		return SeverityCritical
	case n >= 60:
		return SeverityHigh
	case n >= 40:
		return SeverityMedium
	case n >= 20:
		return SeverityLow
	}
	return SeverityInformational
}

func falconEntities(doc map[string]any) string {
	var b entityBuilder
	if dev, ok := doc["device"].(map[string]any); ok {
		if h := nonEmpty(dev, "hostname"); h != "" {
			f := map[string]any{"HostName": h, "OSFamily": nonEmpty(dev, "platform_name")}
			if v := nonEmpty(dev, "os_version"); v != "" {
				f["OSVersion"] = v
			}
			b.once("host", h, f)
		}
		b.ip(nonEmpty(dev, "local_ip"))
		b.ip(nonEmpty(dev, "external_ip"))
	}
	for _, h := range []string{"source_endpoint_host_name", "target_endpoint_host_name"} {
		if v := nonEmpty(doc, h); v != "" {
			b.once("host", v, map[string]any{"HostName": v})
		}
	}
	b.ip(nonEmpty(doc, "source_endpoint_ip_address"))
	if u := nonEmpty(doc, "user_name"); u != "" {
		b.account(u, "", nonEmpty(doc, "user_id"))
	}
	if upn := nonEmpty(doc, "source_account_upn"); upn != "" {
		b.upnAccount(upn, nonEmpty(doc, "source_account_object_sid"))
	} else if n := nonEmpty(doc, "source_account_name"); n != "" {
		b.account(n, "", "")
	}
	if n := nonEmpty(doc, "target_account_name"); n != "" {
		b.account(n, "", "")
	}
	b.process(text(doc["local_process_id"]), nonEmpty(doc, "cmdline"), nonEmpty(doc, "filename"))
	b.file(nonEmpty(doc, "filepath"), nonEmpty(doc, "filename"),
		hashes("MD5", nonEmpty(doc, "md5"), "SHA1", nonEmpty(doc, "sha1"), "SHA256", nonEmpty(doc, "sha256")))
	for _, k := range []string{"parent_details", "grandparent_details"} {
		if pd, ok := doc[k].(map[string]any); ok {
			b.process(text(pd["local_process_id"]), nonEmpty(pd, "cmdline"), nonEmpty(pd, "filename"))
			b.file(nonEmpty(pd, "filepath"), nonEmpty(pd, "filename"),
				hashes("MD5", nonEmpty(pd, "md5"), "SHA1", nonEmpty(pd, "sha1"), "SHA256", nonEmpty(pd, "sha256")))
		}
	}
	if q, ok := doc["quarantined_files"].([]any); ok {
		for _, it := range q {
			if m, ok := it.(map[string]any); ok {
				b.file(nonEmpty(m, "filename"), "", hashes("SHA256", nonEmpty(m, "sha256")))
			}
		}
	}
	if na, ok := doc["network_accesses"].([]any); ok {
		for _, it := range na {
			if m, ok := it.(map[string]any); ok {
				b.ip(nonEmpty(m, "remote_address"))
			}
		}
	}
	if t := nonEmpty(doc, "ioc_type"); strings.HasPrefix(t, "hash_") {
		alg := strings.ToUpper(strings.TrimPrefix(t, "hash_"))
		if hs := hashes(alg, nonEmpty(doc, "ioc_value")); len(hs) > 0 {
			h := hs[0].(map[string]any)
			b.once("filehash", text(h["Value"]), h)
		}
	} else if t == "domain" {
		if v := nonEmpty(doc, "ioc_value"); v != "" {
			b.once("dns", v, map[string]any{"DomainName": v})
		}
	} else if t == "ipv4" || t == "ipv6" {
		b.ip(nonEmpty(doc, "ioc_value"))
	}
	return b.json()
}

// ---- Microsoft Defender for Endpoint ----

// NormalizeDefender maps one alert of the Defender for Endpoint API
// (/api/alerts; an OData response's "value" items, see DecodeRecords).
func NormalizeDefender(raw []byte) (CanonicalAlert, bool, error) {
	doc, err := decodeEvent(raw)
	if err != nil {
		return CanonicalAlert{}, false, err
	}
	title := nonEmpty(doc, "title")
	var tactics []string
	if c := nonEmpty(doc, "category"); c != "" && !strings.EqualFold(c, "null") {
		tactics = []string{c}
	}
	techniques := []string{}
	for _, t := range stringList(doc["mitreTechniques"]) {
		if attackIDRe.MatchString(t) {
			techniques = appendUnique(techniques, t)
		}
	}
	tenant := nonEmpty(doc, "tenantId", "aadTenantId")
	if tenant == "" {
		tenant = DefaultTenant
	}
	a := CanonicalAlert{
		AlertID: nonEmpty(doc, "id", "alertId"), Source: SourceDefender,
		Timestamp: nonEmpty(doc, "alertCreationTime", "firstEventTime", "lastUpdateTime"), Title: title,
		Description: nonEmpty(doc, "description"), Severity: severityOr(nonEmpty(doc, "severity"), SeverityMedium),
		Tactics: tactics, Techniques: techniques, EntitiesRaw: defenderEntities(doc),
		Product: "microsoft_defender_endpoint", TenantID: tenant, DataSource: SourceDefender,
		RuleFamily: nonEmpty(doc, "title", "detectorId", "threatName"),
	}
	return finish(a, raw)
}

func defenderEntities(doc map[string]any) string {
	var b entityBuilder
	if h := nonEmpty(doc, "computerDnsName"); h != "" {
		f := map[string]any{"HostName": h}
		if m := nonEmpty(doc, "machineId"); m != "" {
			f["MdatpDeviceId"] = m
		}
		b.once("host", h, f)
	}
	for _, k := range []string{"alertUser", "relatedUser"} {
		if u, ok := doc[k].(map[string]any); ok {
			b.account(nonEmpty(u, "accountName", "userName"), nonEmpty(u, "domainName"), "")
		}
	}
	list := func(k string) []map[string]any {
		var out []map[string]any
		items, _ := doc[k].([]any)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	for _, f := range list("alertFiles") {
		b.file(nonEmpty(f, "filePath")+`\`+nonEmpty(f, "fileName"), nonEmpty(f, "fileName"),
			hashes("MD5", nonEmpty(f, "md5"), "SHA1", nonEmpty(f, "sha1"), "SHA256", nonEmpty(f, "sha256")))
	}
	for _, ip := range list("alertIps") {
		b.ip(nonEmpty(ip, "ipAddress"))
	}
	for _, d := range list("alertDomains") {
		if h := nonEmpty(d, "host"); h != "" {
			b.once("dns", h, map[string]any{"DomainName": h})
		}
	}
	for _, ev := range list("evidence") {
		switch trimLower(text(ev["entityType"])) {
		case "file":
			b.file(strings.TrimRight(nonEmpty(ev, "filePath"), `\`)+`\`+nonEmpty(ev, "fileName"), nonEmpty(ev, "fileName"),
				hashes("SHA1", nonEmpty(ev, "sha1"), "SHA256", nonEmpty(ev, "sha256")))
		case "process":
			b.process(text(ev["processId"]), nonEmpty(ev, "processCommandLine"), nonEmpty(ev, "fileName"))
		case "user":
			b.account(nonEmpty(ev, "accountName"), nonEmpty(ev, "domainName"), nonEmpty(ev, "userSid"))
		case "ip":
			b.ip(nonEmpty(ev, "ipAddress"))
		case "url":
			if u := nonEmpty(ev, "url"); u != "" {
				b.once("url", u, map[string]any{"Url": u})
			}
		}
	}
	return b.json()
}

// ---- record framing ----

// DecodeRecords splits input holding one JSON object, a JSON array of
// objects or JSON lines into raw records, in order. An OData response
// ({"@odata.context": …, "value": [...]}, the Defender API's framing) gives
// its value items. Lines that are not JSON are returned as they are, so
// that the caller can report them by index; only input that cannot be split
// at all is an error.
func DecodeRecords(data []byte) ([]json.RawMessage, error) {
	t := bytes.TrimSpace(data)
	t = bytes.TrimPrefix(t, []byte("\ufeff"))
	if len(t) == 0 {
		return nil, nil
	}
	var whole any
	if json.Unmarshal(t, &whole) == nil {
		switch w := whole.(type) {
		case []any:
			var items []json.RawMessage
			if err := json.Unmarshal(t, &items); err != nil {
				return nil, err
			}
			return items, nil
		case map[string]any:
			if _, odata := w["@odata.context"]; odata {
				var env struct {
					Value []json.RawMessage `json:"value"`
				}
				if json.Unmarshal(t, &env) == nil && env.Value != nil {
					return env.Value, nil
				}
			}
			return []json.RawMessage{t}, nil
		}
		return []json.RawMessage{t}, nil
	}
	var out []json.RawMessage
	for line := range bytes.SplitSeq(t, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			out = append(out, json.RawMessage(line))
		}
	}
	return out, nil
}

// ParsedAlert is one record of ParseAlerts: the canonical alert and its
// parsed entities.
type ParsedAlert struct {
	Index    int            `json:"index"`
	Alert    CanonicalAlert `json:"alert"`
	Entities Entities       `json:"parsed_entities"`
	Mode     ExtractionMode `json:"extraction_mode"`
}

// NormalizedJSON is the record in the wire form of alerts.normalized: the
// canonical alert's members plus parsed_entities.
func (p ParsedAlert) NormalizedJSON() ([]byte, error) {
	a, err := json.Marshal(p.Alert)
	if err != nil {
		return nil, err
	}
	e, err := json.Marshal(p.Entities)
	if err != nil {
		return nil, err
	}
	members, err := splitObject(a)
	if err != nil {
		return nil, err
	}
	return encodeMembers(setMember(members, "parsed_entities", e)), nil
}

// RecordError reports a record ParseAlerts could not turn into an alert.
type RecordError struct {
	Index int
	Err   error
}

func (e *RecordError) Error() string { return "record " + strconv.Itoa(e.Index) + ": " + e.Err.Error() }

func (e *RecordError) Unwrap() error { return e.Err }

// ParseAlerts normalizes every record of data (see DecodeRecords) with the
// source's adapter and parses its entities: what `warden alert` prints.
// Dropped records (heartbeats) appear in neither result; a bad record
// never stops the others.
func ParseAlerts(source string, data []byte, now time.Time, opt ExtractOptions) ([]ParsedAlert, []*RecordError) {
	if !slices.Contains(Sources(), trimLower(source)) {
		return nil, []*RecordError{{Index: -1, Err: fmt.Errorf("%w: %q", ErrUnknownSource, source)}}
	}
	recs, err := DecodeRecords(data)
	if err != nil {
		return nil, []*RecordError{{Index: -1, Err: err}}
	}
	var out []ParsedAlert
	var errs []*RecordError
	for i, r := range recs {
		a, keep, err := Normalize(source, r, now)
		if err != nil {
			errs = append(errs, &RecordError{Index: i, Err: err})
			continue
		}
		if !keep {
			continue
		}
		o := opt
		o.FreeText = freeText(a)
		ents, mode := ParseEntities(a.EntitiesRaw, a.RawPayload, o)
		out = append(out, ParsedAlert{Index: i, Alert: a, Entities: ents, Mode: mode})
	}
	return out, errs
}
