package entityparser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"

	"github.com/socwarden/warden/entityparser/ioc"
)

// EntityType names an entity kind. The first fifteen are the reference's,
// recognised from Sentinel's entity Type; CVE and AttackTechnique come from
// the IOC extractor; the last group are further Sentinel kinds kept in
// Other.
type EntityType string

// Entity types.
const (
	Account          EntityType = "account"
	Host             EntityType = "host"
	IP               EntityType = "ip"
	File             EntityType = "file"
	Process          EntityType = "process"
	URL              EntityType = "url"
	DNS              EntityType = "dns"
	FileHash         EntityType = "filehash"
	Mailbox          EntityType = "mailbox"
	MailMessage      EntityType = "mailmessage"
	RegistryKey      EntityType = "registry-key"
	RegistryValue    EntityType = "registry-value"
	SecurityGroup    EntityType = "security-group"
	CloudApplication EntityType = "cloud-application"
	Malware          EntityType = "malware"
	CVE              EntityType = "cve"
	AttackTechnique  EntityType = "attack-technique"

	// Sentinel entity kinds Warden does not model; they are kept in Other
	// (generic handler) instead of being reported as unknown.
	HostLogonSession  EntityType = "host-logon-session"
	AzureResource     EntityType = "azure-resource"
	NetworkConnection EntityType = "network-connection"
	IoTDevice         EntityType = "iot-device"
	SubmissionMail    EntityType = "submission-mail"
	MailCluster       EntityType = "mail-cluster"
	Blob              EntityType = "blob"
	BlobContainer     EntityType = "blob-container"
)

// sentinelTypes maps Sentinel's Type (trimmed, lower-cased, with hyphens
// removed: the real alerts spell "registry-key", the reference expected
// "registrykey") to entity types.
var sentinelTypes = map[string]EntityType{
	"account": Account, "host": Host, "ip": IP, "file": File, "process": Process, "url": URL,
	"dns": DNS, "filehash": FileHash, "mailbox": Mailbox, "mailmessage": MailMessage,
	"registrykey": RegistryKey, "registryvalue": RegistryValue, "securitygroup": SecurityGroup,
	"cloudapplication": CloudApplication, "malware": Malware,
	"hostlogonsession": HostLogonSession, "azureresource": AzureResource,
	"networkconnection": NetworkConnection, "iotdevice": IoTDevice, "submissionmail": SubmissionMail,
	"mailcluster": MailCluster, "blob": Blob, "blobcontainer": BlobContainer,
}

// Entity is one normalized entity.
type Entity struct {
	Type         EntityType     `json:"entity_type"`
	PrimaryValue string         `json:"primary_value"`
	Properties   map[string]any `json:"properties"` // never nil
	Confidence   float64        `json:"confidence"`
	SourceID     *string        `json:"source_id"` // the entity's $id, or nil
}

// MarshalJSON writes nil properties as {}.
func (e Entity) MarshalJSON() ([]byte, error) {
	type plain Entity
	p := plain(e)
	if p.Properties == nil {
		p.Properties = map[string]any{}
	}
	return json.Marshal(p)
}

// Entities are the parsed entities of one alert. Every list is serialised
// as a JSON array, never null.
type Entities struct {
	Accounts   []Entity `json:"accounts"`
	Hosts      []Entity `json:"hosts"`
	IPs        []Entity `json:"ips"`
	Files      []Entity `json:"files"`
	Processes  []Entity `json:"processes"`
	URLs       []Entity `json:"urls"`
	DNSRecords []Entity `json:"dns_records"`
	FileHashes []Entity `json:"file_hashes"`
	Mailboxes  []Entity `json:"mailboxes"`
	Other      []Entity `json:"other"`
	// RegistryKeys, CVEs and AttackTechniques hold the IOC kinds the
	// extractor finds that Sentinel's entity model has no list for
	// (structured registry-key entities stay in Other, as in the reference).
	RegistryKeys     []Entity `json:"registry_keys"`
	CVEs             []Entity `json:"cves"`
	AttackTechniques []Entity `json:"attack_techniques"`
	RawIOCs          []string `json:"raw_iocs"`
	ParseErrors      []string `json:"parse_errors"`
}

// categories returns the entity lists in wire order with their JSON keys.
func (e *Entities) categories() []struct {
	key  string
	list *[]Entity
} {
	return []struct {
		key  string
		list *[]Entity
	}{
		{"accounts", &e.Accounts}, {"hosts", &e.Hosts}, {"ips", &e.IPs}, {"files", &e.Files},
		{"processes", &e.Processes}, {"urls", &e.URLs}, {"dns_records", &e.DNSRecords},
		{"file_hashes", &e.FileHashes}, {"mailboxes", &e.Mailboxes}, {"other", &e.Other},
		{"registry_keys", &e.RegistryKeys}, {"cves", &e.CVEs}, {"attack_techniques", &e.AttackTechniques},
	}
}

// Count is the number of entities over all lists.
func (e Entities) Count() int {
	n := 0
	for _, c := range e.categories() {
		n += len(*c.list)
	}
	return n
}

// MarshalJSON writes every list, nil ones as [].
func (e Entities) MarshalJSON() ([]byte, error) {
	for _, c := range e.categories() {
		if *c.list == nil {
			*c.list = []Entity{}
		}
	}
	if e.RawIOCs == nil {
		e.RawIOCs = []string{}
	}
	if e.ParseErrors == nil {
		e.ParseErrors = []string{}
	}
	type plain Entities
	return json.Marshal(plain(e))
}

func newEntities() Entities {
	var e Entities
	for _, c := range e.categories() {
		*c.list = []Entity{}
	}
	e.RawIOCs, e.ParseErrors = []string{}, []string{}
	return e
}

// ExtractionMode says where the entities came from.
type ExtractionMode string

// Extraction modes.
const (
	ModeStructured    ExtractionMode = "structured"     // a JSON array in entities_raw
	ModeRegexFallback ExtractionMode = "regex_fallback" // the IOC extractor over text
	ModeNone          ExtractionMode = "none"           // nothing to parse
)

// ExtractOptions tune ParseEntities.
type ExtractOptions struct {
	// IPScope adds property ip_scope to every IP entity (ioc.Scope).
	IPScope bool
	// FreeText, when set, is also run through the IOC extractor in
	// structured mode; what it finds and the structured entities do not
	// already hold is added with the extractor's confidences. Process sets
	// it for non-Sentinel sources (title, description, the SIEM's own
	// free-text fields).
	FreeText string
	// Logger receives sanitisation warnings; nil discards them.
	Logger *slog.Logger
}

// Confidences of entities found by the IOC extractor (structured entities
// have 1.0).
const (
	confIP     = 0.7
	confSHA256 = 0.8
	confSHA512 = 0.8
	confSHA1   = 0.7
	confMD5    = 0.6
	confDomain = 0.6
	confURL    = 0.6
	confEmail  = 0.6
	confPath   = 0.5
	confReg    = 0.6
	confCVE    = 0.9
	confAttack = 0.9
)

// ParseEntities extracts the entities of one alert (spec §3.2): a JSON array
// in entitiesRaw is parsed structurally; anything else in entitiesRaw, or
// else a non-empty raw payload, goes through the IOC extractor.
func ParseEntities(entitiesRaw string, rawPayload json.RawMessage, opt ExtractOptions) (Entities, ExtractionMode) {
	p := entityParser{out: newEntities(), opt: opt, log: opt.Logger}
	if strings.TrimSpace(entitiesRaw) != "" {
		var v any
		dec := json.NewDecoder(strings.NewReader(entitiesRaw))
		dec.UseNumber()
		err := dec.Decode(&v)
		if err == nil {
			if _, e2 := dec.Token(); e2 != io.EOF {
				err = fmt.Errorf("invalid character after top-level value")
			}
		}
		if err == nil {
			if arr, ok := v.([]any); ok {
				var raws []json.RawMessage
				_ = json.Unmarshal([]byte(entitiesRaw), &raws)
				p.structured(arr, raws)
				if opt.FreeText != "" {
					p.freeText(opt.FreeText)
				}
				return p.out, ModeStructured
			}
			p.errorf("entities_raw is not a JSON array")
		} else {
			p.errorf("entities_raw JSON error: %s", jsonErrorText(err))
		}
		p.fallback(entitiesRaw)
		return p.out, ModeRegexFallback
	}
	if t := bytes.TrimSpace(rawPayload); len(t) > 0 && string(t) != "null" && string(t) != "{}" {
		p.fallback(scanText(rawPayload))
		return p.out, ModeRegexFallback
	}
	return p.out, ModeNone
}

func jsonErrorText(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of JSON input"
	}
	return err.Error()
}

// scanText joins, with single spaces, every key, string value and number
// (literal text) of a JSON document in order; booleans and null give
// nothing. Invalid JSON contributes what was read before the error.
func scanText(doc json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var parts []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case string:
			parts = append(parts, t)
		case json.Number:
			parts = append(parts, string(t))
		}
	}
	return strings.Join(parts, " ")
}

// entityParser accumulates one ParseEntities call.
type entityParser struct {
	out  Entities
	opt  ExtractOptions
	log  *slog.Logger
	refs map[string]map[string]any // $id → element
	raw  json.RawMessage           // JSON text of the element being handled
}

func (p *entityParser) errorf(format string, args ...any) {
	p.out.ParseErrors = append(p.out.ParseErrors, fmt.Sprintf(format, args...))
}

// s is S(x, F) of the spec: sanitise a member of an element.
func (p *entityParser) s(el map[string]any, key string) (string, bool) {
	return sanitize(el[key], key, verbatimFields[strings.ToLower(key)], p.log)
}

// verbatim sanitises an indicator member: truncated and trimmed only.
func (p *entityParser) verbatim(el map[string]any, key string) (string, bool) {
	return sanitize(el[key], key, true, p.log)
}

func sourceID(el map[string]any) *string {
	switch v := el["$id"].(type) {
	case string:
		return &v
	case json.Number:
		s := string(v)
		return &s
	}
	return nil
}

// typeName is the Type member's text for error messages: the string, the
// JSON text of other values, None when absent.
func typeName(el map[string]any) string {
	v, ok := el["Type"]
	if !ok || v == nil {
		return "None"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func kindName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case []any:
		return "list"
	case string:
		return "str"
	case bool:
		return "bool"
	case json.Number:
		if _, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return "int"
		}
		return "float"
	}
	return fmt.Sprintf("%T", v)
}

func (p *entityParser) structured(arr []any, raws []json.RawMessage) {
	p.refs = map[string]map[string]any{}
	for _, v := range arr {
		if el, ok := v.(map[string]any); ok {
			if id := sourceID(el); id != nil {
				p.refs[*id] = el
			}
		}
	}
	for i, v := range arr {
		el, ok := v.(map[string]any)
		if !ok {
			p.errorf("Non-dict entity skipped: %s", kindName(v))
			continue
		}
		p.raw = nil
		if i < len(raws) {
			p.raw = raws[i]
		}
		t, _ := el["Type"].(string)
		norm := strings.ReplaceAll(trimLower(t), "-", "")
		et, known := sentinelTypes[norm]
		if !known {
			p.errorf("Unknown entity type: %s", typeName(el))
			continue
		}
		p.handle(et, el)
	}
}

func (p *entityParser) handle(et EntityType, el map[string]any) {
	defer func() {
		if r := recover(); r != nil {
			p.errorf("Error parsing %s: %v", strings.ReplaceAll(string(et), "-", ""), r)
		}
	}()
	switch et {
	case Account:
		p.account(el)
	case Host:
		p.host(el)
	case IP:
		p.ip(el)
	case File:
		p.file(el)
	case Process:
		p.process(el)
	case URL:
		p.url(el)
	case DNS:
		p.dns(el)
	case FileHash:
		p.filehash(el)
	case Mailbox:
		p.mailbox(el)
	default:
		p.generic(et, el)
	}
}

func entity(t EntityType, primary string, props map[string]any, el map[string]any) Entity {
	if props == nil {
		props = map[string]any{}
	}
	return Entity{Type: t, PrimaryValue: primary, Properties: props, Confidence: 1.0, SourceID: sourceID(el)}
}

func setIf(props map[string]any, key, v string, ok bool) {
	if ok {
		props[key] = v
	}
}

func setRaw(props map[string]any, key string, v any) {
	if v != nil {
		props[key] = v
	}
}

func (p *entityParser) account(el map[string]any) {
	name, okN := p.s(el, "Name")
	if raw, _ := el["Name"].(string); okN && strings.HasSuffix(strings.TrimSpace(raw), "$") && !strings.HasSuffix(name, "$") {
		name += "$" // a machine account ("HOST01$") keeps its marker
	}
	upn, okU := p.s(el, "UPNSuffix")
	aad, okA := p.s(el, "AadUserId")
	sid, okS := p.s(el, "Sid")
	var primary string
	switch {
	case okN && okU:
		primary = name + "@" + upn
	case okA:
		primary = aad
	case okN:
		primary = name
	default:
		p.errorf("Account entity missing Name and AadUserId")
		return
	}
	props := map[string]any{}
	setIf(props, "name", name, okN)
	setIf(props, "upn_suffix", upn, okU)
	setIf(props, "aad_user_id", aad, okA)
	setIf(props, "sid", sid, okS)
	setRaw(props, "is_domain_joined", el["IsDomainJoined"])
	d, okD := p.s(el, "DnsDomain")
	setIf(props, "dns_domain", d, okD)
	p.out.Accounts = append(p.out.Accounts, entity(Account, primary, props, el))
	p.out.RawIOCs = append(p.out.RawIOCs, primary)
}

func (p *entityParser) host(el map[string]any) {
	hostname, okH := p.s(el, "HostName")
	netbios, okB := p.s(el, "NetBiosName")
	dns, okD := p.s(el, "DnsDomain")
	host := hostname
	if !okH {
		host = netbios
	}
	if !okH && !okB {
		p.errorf("Host entity missing HostName and NetBiosName")
		return
	}
	primary := host
	if okD {
		primary = host + "." + dns
	}
	props := map[string]any{"hostname": host}
	setIf(props, "dns_domain", dns, okD)
	setRaw(props, "os_family", el["OSFamily"])
	setRaw(props, "os_version", el["OSVersion"])
	r, okR := p.s(el, "AzureID")
	setIf(props, "resource_id", r, okR)
	m, okM := p.s(el, "MdatpDeviceId")
	setIf(props, "edr_device_id", m, okM)
	p.out.Hosts = append(p.out.Hosts, entity(Host, primary, props, el))
	p.out.RawIOCs = append(p.out.RawIOCs, primary)
}

func (p *entityParser) ip(el map[string]any) {
	addr, ok := p.verbatim(el, "Address")
	if !ok {
		p.errorf("IP entity missing Address")
		return
	}
	if !ValidIP(addr) {
		p.errorf("Invalid IP address: %s", addr)
		return
	}
	props := map[string]any{}
	if loc, ok := el["Location"].(map[string]any); ok {
		for _, m := range [][2]string{{"CountryCode", "geo_country"}, {"City", "geo_city"}, {"Asn", "asn"}, {"Carrier", "carrier"}} {
			setRaw(props, m[1], loc[m[0]])
		}
	}
	p.addScope(props, addr)
	p.out.IPs = append(p.out.IPs, entity(IP, addr, props, el))
	p.out.RawIOCs = append(p.out.RawIOCs, addr)
}

func (p *entityParser) addScope(props map[string]any, addr string) {
	if p.opt.IPScope {
		props["ip_scope"] = ioc.Scope(strings.TrimSpace(addr))
	}
}

func (p *entityParser) file(el map[string]any) {
	name, ok := p.verbatim(el, "Name")
	if !ok {
		name = "unknown"
	}
	dir, okD := p.verbatim(el, "Directory")
	props := map[string]any{"full_path": name}
	if okD {
		props["directory"] = dir
		sep := `\`
		if strings.Contains(dir, "/") && !strings.Contains(dir, `\`) {
			sep = "/" // a POSIX directory (Elastic, CrowdStrike on Linux)
		}
		props["full_path"] = strings.TrimSuffix(dir, sep) + sep + name
	}
	setRaw(props, "size", el["SizeInBytes"])
	p.out.Files = append(p.out.Files, entity(File, name, props, el))
	if hashes, ok := el["FileHashes"].([]any); ok {
		for _, h := range hashes {
			if hm, ok := h.(map[string]any); ok {
				p.filehash(hm)
			}
		}
	}
}

func (p *entityParser) process(el map[string]any) {
	pid := el["ProcessId"]
	cmd, okC := p.s(el, "CommandLine")
	var image string
	var okI bool
	if img, ok := el["ImageFile"].(map[string]any); ok {
		target := img
		if ref, ok := img["$ref"]; ok {
			target = nil
			if id := refKey(ref); id != "" {
				target = p.refs[id]
			}
		}
		if target != nil {
			image, okI = p.verbatim(target, "Name")
		}
	}
	var primary string
	switch {
	case okI:
		primary = image
	case truthy(pid):
		primary, _ = sanitize(pid, "ProcessId", true, nil)
	default:
		primary = "unknown"
	}
	props := map[string]any{}
	setRaw(props, "process_id", pid)
	setIf(props, "command_line", cmd, okC)
	setIf(props, "image_name", image, okI)
	setRaw(props, "parent_process_id", el["ParentProcessId"])
	setRaw(props, "creation_time", el["CreationTimeUtc"])
	if primary == "" {
		primary = "unknown"
	}
	p.out.Processes = append(p.out.Processes, entity(Process, primary, props, el))
}

func refKey(ref any) string {
	switch r := ref.(type) {
	case string:
		return r
	case json.Number:
		return string(r)
	}
	return ""
}

func truthy(v any) bool {
	switch x := v.(type) {
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err == nil && f != 0
	case bool:
		return x
	}
	return false
}

func (p *entityParser) url(el map[string]any) {
	u, ok := p.verbatim(el, "Url")
	if !ok {
		p.errorf("URL entity missing Url")
		return
	}
	p.out.URLs = append(p.out.URLs, entity(URL, u, nil, el))
	p.out.RawIOCs = append(p.out.RawIOCs, u)
}

func (p *entityParser) dns(el map[string]any) {
	d, ok := p.verbatim(el, "DomainName")
	if !ok {
		p.errorf("DNS entity missing DomainName")
		return
	}
	props := map[string]any{}
	if ips, ok := el["IpAddresses"].([]any); ok && len(ips) > 0 {
		props["resolved_ips"] = ips
	}
	p.out.DNSRecords = append(p.out.DNSRecords, entity(DNS, d, props, el))
	p.out.RawIOCs = append(p.out.RawIOCs, d)
}

func (p *entityParser) filehash(el map[string]any) {
	alg := ""
	if a, ok := el["Algorithm"]; ok && a != nil {
		s, isStr := a.(string)
		if !isStr {
			p.errorf("Error parsing filehash: Algorithm must be a string")
			return
		}
		alg = s
	}
	v, ok := p.verbatim(el, "Value")
	if !ok {
		p.errorf("FileHash entity missing Value")
		return
	}
	if !ValidHash(v, alg) {
		p.errorf("Invalid hash (%s): %s", alg, truncateRunes(v, 20))
		return
	}
	v = strings.ToLower(v)
	props := map[string]any{}
	if alg != "" {
		props["algorithm"] = alg
	}
	p.out.FileHashes = append(p.out.FileHashes, entity(FileHash, v, props, el))
	p.out.RawIOCs = append(p.out.RawIOCs, v)
}

func (p *entityParser) mailbox(el map[string]any) {
	a, ok := p.verbatim(el, "MailboxPrimaryAddress")
	if !ok {
		p.errorf("Mailbox entity missing MailboxPrimaryAddress")
		return
	}
	props := map[string]any{}
	d, okD := p.s(el, "DisplayName")
	setIf(props, "display_name", d, okD)
	u, okU := p.s(el, "Upn")
	setIf(props, "upn", u, okU)
	p.out.Mailboxes = append(p.out.Mailboxes, entity(Mailbox, a, props, el))
	p.out.RawIOCs = append(p.out.RawIOCs, a)
}

// generic handles mailmessage, registry keys and values, security groups,
// cloud applications and malware: the first usable member (in document
// order) is the primary value; every member except $-keys and Type is a
// property, raw.
func (p *entityParser) generic(et EntityType, el map[string]any) {
	verbatim := et == RegistryKey || et == RegistryValue
	props := map[string]any{}
	primary, found := "", false
	for _, kv := range orderedMembers(el, p.raw) {
		if strings.HasPrefix(kv.key, "$") || kv.key == "Type" {
			continue
		}
		props[kv.key] = kv.value
		if found {
			continue
		}
		switch v := kv.value.(type) {
		case string:
			primary, found = sanitize(v, kv.key, verbatim || verbatimFields[strings.ToLower(kv.key)], p.log)
		case json.Number, bool:
			primary, found = sanitize(v, kv.key, true, nil)
		}
	}
	if !found {
		p.errorf("Generic entity (%s) has no usable value", typeName(el))
		return
	}
	p.out.Other = append(p.out.Other, entity(et, primary, props, el))
}

// keyValue is one member of an element.
type keyValue struct {
	key   string
	value any
}

// orderedMembers returns el's members in the order of raw, its JSON text (a
// decoded map has lost the order the generic handler's "first usable
// member" rule needs). A later duplicate key keeps the first position.
func orderedMembers(el map[string]any, raw json.RawMessage) []keyValue {
	var keys []string
	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err == nil && tok == json.Delim('{') {
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			k, _ := tok.(string)
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				break
			}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) != len(el) {
		keys = keys[:0]
		for k := range el {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	out := make([]keyValue, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyValue{k, el[k]})
	}
	return out
}

// ---- free text and fallback ----

// fallback runs the IOC extractor over text (spec §3.6 with the real
// extractor): entities get the extractor's confidences and raw_iocs the
// sorted set of every value.
func (p *entityParser) fallback(text string) {
	seen := p.addExtracted(ioc.Extract(text), nil)
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	p.out.RawIOCs = append(p.out.RawIOCs, keys...)
}

// freeText adds what the extractor finds in text and the structured
// entities do not already hold; new values are appended to raw_iocs in the
// order found.
func (p *entityParser) freeText(text string) {
	have := map[string]bool{}
	for _, c := range p.out.categories() {
		for _, e := range *c.list {
			have[string(e.Type)+"\x00"+strings.ToLower(e.PrimaryValue)] = true
		}
	}
	p.addExtracted(ioc.Extract(text), have)
}

// addExtracted appends the extracted indicators as entities, skipping those
// in have (keyed by type and lower-cased value), and returns the set of
// values added. Values also go to raw_iocs when have is non-nil (free text
// keeps the order found; the fallback sorts them).
func (p *entityParser) addExtracted(x ioc.IOCs, have map[string]bool) map[string]bool {
	added := map[string]bool{}
	add := func(list *[]Entity, t EntityType, v string, conf float64, props map[string]any) {
		k := string(t) + "\x00" + strings.ToLower(v)
		if have[k] {
			return
		}
		if have != nil {
			have[k] = true
		}
		if props == nil {
			props = map[string]any{}
		}
		*list = append(*list, Entity{Type: t, PrimaryValue: v, Properties: props, Confidence: conf})
		if have != nil && !added[v] {
			p.out.RawIOCs = append(p.out.RawIOCs, v)
		}
		added[v] = true
	}
	for _, a := range append(slices.Clone(x.IPv4), x.IPv6...) {
		props := map[string]any{}
		p.addScope(props, a)
		add(&p.out.IPs, IP, a, confIP, props)
	}
	for _, h := range x.SHA256 {
		add(&p.out.FileHashes, FileHash, h, confSHA256, map[string]any{"algorithm": "SHA256"})
	}
	for _, h := range x.SHA1 {
		add(&p.out.FileHashes, FileHash, h, confSHA1, map[string]any{"algorithm": "SHA1"})
	}
	for _, h := range x.MD5 {
		add(&p.out.FileHashes, FileHash, h, confMD5, map[string]any{"algorithm": "MD5"})
	}
	for _, h := range x.SHA512 {
		add(&p.out.FileHashes, FileHash, h, confSHA512, map[string]any{"algorithm": "SHA512"})
	}
	for _, d := range x.Domain {
		add(&p.out.DNSRecords, DNS, d, confDomain, nil)
	}
	for _, u := range x.URL {
		add(&p.out.URLs, URL, u, confURL, nil)
	}
	for _, m := range x.Email {
		add(&p.out.Mailboxes, Mailbox, m, confEmail, nil)
	}
	for _, f := range x.FilePath {
		add(&p.out.Files, File, fileName(f), confPath, map[string]any{"full_path": f})
	}
	for _, r := range x.Registry {
		add(&p.out.RegistryKeys, RegistryKey, r, confReg, nil)
	}
	for _, c := range x.CVE {
		add(&p.out.CVEs, CVE, c, confCVE, nil)
	}
	for _, t := range x.Attack {
		add(&p.out.AttackTechniques, AttackTechnique, t, confAttack, nil)
	}
	return added
}

// fileName is the last element of a Windows or POSIX path.
func fileName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 && i+1 < len(p) {
		return p[i+1:]
	}
	return path.Base(p)
}
