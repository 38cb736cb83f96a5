package injection

import "strings"

// markerRule is a character-level detector (chat-template tokens, role
// headers, closing tags of prompt wrappers). Each find function is a
// hand-written scanner over the lower-cased copy; its plain RE2 form is kept
// in the tests as the oracle (markers_oracle_test.go).
type markerRule struct {
	name   string
	label  string
	weight float64
	find   func(low string) bool
}

var markerRules = []markerRule{
	// <|im_start|>, <|system|>, <|endoftext|>, <|eot_id|> …
	{"role.special_token", LabelRoleMarker, 0.8, findSpecialToken},
	// [INST] … [/INST], <<SYS>> … <</SYS>>
	{"role.llama", LabelRoleMarker, 0.75, findLlamaMarker},
	// a line that is only "### System", "## Assistant:", "# New instructions" …
	{"role.heading", LabelRoleMarker, 0.6, func(l string) bool { return findHeading(l, strongHeadings) }},
	{"role.heading_weak", LabelRoleMarker, 0.3, func(l string) bool { return findHeading(l, weakHeadings) }},
	// "SYSTEM:" / "Developer:" at the start of a line
	{"role.line_label", LabelRoleMarker, 0.45, func(l string) bool { return findLineLabel(l, strongLineLabels) }},
	{"role.line_label_weak", LabelRoleMarker, 0.35, func(l string) bool { return findLineLabel(l, weakLineLabels) }},
	// "AI assistant:", "Note to LLM agents:" – a label that addresses the model
	{"addressed.colon", LabelAddressed, 0.4, findModelColon},
	// [system], <system>, {system message}
	{"role.bracket", LabelRoleMarker, 0.45, findBracketRole},
	// [system](#additional_instructions) – the Bing chat indirect form
	{"role.bracket_anchor", LabelRoleMarker, 0.7, findBracketAnchor},
	// </evidence> closes Warden's own isolation block
	{"delimiter.close_evidence", LabelDelimiter, 0.7, func(l string) bool { return findCloseTag(l, evidenceTags) }},
	{"delimiter.close_tag", LabelDelimiter, 0.45, func(l string) bool { return findCloseTag(l, wrapperTags) }},
	// ```system without the closing fence the reference needs
	{"delimiter.fence_role", LabelDelimiter, 0.5, findFenceRole},
	// --- END, ====== SYSTEM ======, ### new instructions
	{"delimiter.rule_line", LabelDelimiter, 0.45, findRuleLine},
	// ![x](https://host/p?d=…) renders as a request carrying data
	{"exfil.markdown_image", LabelExfil, 0.55, findMarkdownImage},
}

// Alternatives of the marker rules. Order does not matter: every scanner
// tries all of them.
var (
	strongHeadings   = []string{"system", "assistant", "human", "developer", "admin", "new instruction", "new instructions", "system prompt", "system message", "system override", "system instruction", "system instructions"}
	weakHeadings     = []string{"instruction", "instructions", "response", "input", "user", "task", "context"}
	strongLineLabels = []string{"system", "developer", "admin"}
	weakLineLabels   = []string{"assistant", "human", "ai", "bot", "gpt", "chatgpt"}
	bracketRoles     = []string{"system", "assistant", "developer", "sys", "system message", "system prompt", "system note", "system override", "admin override", "im_start", "instruction", "instructions", "new instructions"}
	anchorRoles      = []string{"system", "assistant", "user"}
	evidenceTags     = []string{"evidence", "untrusted_evidence"}
	// Tags ending in "_" are prefixes followed by any word characters.
	wrapperTags = []string{"untrusted_", "context", "document", "documents", "user_input", "user_query", "system", "instruction", "instructions", "tool_result", "tool_output", "function_results", "function_result", "search_results", "search_result", "prompt", "conversation", "article", "webpage", "email", "input", "user", "retrieved_", "external_"}
	fenceRoles  = []string{"system", "assistant", "human", "tool", "user", "developer", "instruction", "instructions"}
	// Words that, directly before a colon, address the model; "ai <word>"
	// ("ai reviewers:") and "language model" are handled by findModelColon.
	colonModels = []string{"ai", "llm", "gpt", "chatgpt", "chatbot", "assistant", "copilot", "claude", "gemini"}
	ruleWords   = []string{"end", "begin", "new", "system", "instruction", "instructions", "assistant", "user", "human", "admin", "important", "override"}
)

// lineStarts calls fn with the offset of every line start until fn returns
// true ((?m)^ in RE2: the start of the text and every offset after \n).
func lineStarts(s string, fn func(int) bool) bool {
	for i := 0; ; {
		if fn(i) {
			return true
		}
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			return false
		}
		i += j + 1
	}
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func skipByte(s string, i int, c byte) int {
	for i < len(s) && s[i] == c {
		i++
	}
	return i
}

func isLineEnd(s string, i int) bool { return i == len(s) || s[i] == '\n' }

func wordEnds(s string, i int) bool { return i == len(s) || !isWordByte(s[i]) }

// findSpecialToken: <\|[a-z_]{2,20}\|>
func findSpecialToken(s string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], "<|")
		if i < 0 {
			return false
		}
		j := off + i + 2
		k := j
		for k < len(s) && k-j <= 20 && ('a' <= s[k] && s[k] <= 'z' || s[k] == '_') {
			k++
		}
		if n := k - j; n >= 2 && n <= 20 && strings.HasPrefix(s[k:], "|>") {
			return true
		}
		off = off + i + 1
	}
}

// findLlamaMarker: \[/?inst\]|<</?sys>>
func findLlamaMarker(s string) bool {
	return strings.Contains(s, "[inst]") || strings.Contains(s, "[/inst]") ||
		strings.Contains(s, "<<sys>>") || strings.Contains(s, "<</sys>>")
}

// findHeading: (?m)^ *#{1,6} *(?:alts) *[:#]* *$
func findHeading(s string, alts []string) bool {
	if strings.IndexByte(s, '#') < 0 {
		return false
	}
	return lineStarts(s, func(i int) bool {
		i = skipSpaces(s, i)
		j := skipByte(s, i, '#')
		if n := j - i; n < 1 || n > 6 {
			return false
		}
		j = skipSpaces(s, j)
		for _, a := range alts {
			if !strings.HasPrefix(s[j:], a) {
				continue
			}
			k := skipSpaces(s, j+len(a))
			for k < len(s) && (s[k] == ':' || s[k] == '#') {
				k++
			}
			if isLineEnd(s, skipSpaces(s, k)) {
				return true
			}
		}
		return false
	})
}

// findLineLabel: (?m)^ *(?:alts) *:
func findLineLabel(s string, alts []string) bool {
	if strings.IndexByte(s, ':') < 0 {
		return false
	}
	return lineStarts(s, func(i int) bool {
		i = skipSpaces(s, i)
		for _, a := range alts {
			if strings.HasPrefix(s[i:], a) {
				if k := skipSpaces(s, i+len(a)); k < len(s) && s[k] == ':' {
					return true
				}
			}
		}
		return false
	})
}

func isCloseBracket(c byte) bool { return c == ']' || c == '>' || c == '}' }

// findBracketRole: [\[<{] *(?:alts) *[\]>}]
func findBracketRole(s string) bool {
	for _, open := range "[<{" {
		for off := 0; ; {
			i := strings.IndexByte(s[off:], byte(open))
			if i < 0 {
				break
			}
			off += i + 1
			j := skipSpaces(s, off)
			for _, a := range bracketRoles {
				if strings.HasPrefix(s[j:], a) {
					if k := skipSpaces(s, j+len(a)); k < len(s) && isCloseBracket(s[k]) {
						return true
					}
				}
			}
		}
	}
	return false
}

// findBracketAnchor: \[(?:system|assistant|user)\]\(#
func findBracketAnchor(s string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], "](#")
		if i < 0 {
			return false
		}
		end := off + i
		for _, a := range anchorRoles {
			if strings.HasSuffix(s[:end], "["+a) {
				return true
			}
		}
		off = end + 1
	}
}

// findCloseTag: </ *(?:alts) *> where an alternative ending in "_" is
// followed by \w*.
func findCloseTag(s string, tags []string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], "</")
		if i < 0 {
			return false
		}
		j := skipSpaces(s, off+i+2)
		for _, t := range tags {
			if !strings.HasPrefix(s[j:], t) {
				continue
			}
			k := j + len(t)
			if strings.HasSuffix(t, "_") {
				for k < len(s) && isWordByte(s[k]) {
					k++
				}
			}
			if k = skipSpaces(s, k); k < len(s) && s[k] == '>' {
				return true
			}
		}
		off = off + i + 1
	}
}

// findFenceRole: ```\s*(?:alts)\b
func findFenceRole(s string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], "```")
		if i < 0 {
			return false
		}
		j := off + i + 3
		for j < len(s) && isRE2Space(s[j]) {
			j++
		}
		for _, a := range fenceRoles {
			if strings.HasPrefix(s[j:], a) && wordEnds(s, j+len(a)) {
				return true
			}
		}
		off = off + i + 1
	}
}

// findRuleLine: (?:-{3}|={3}|\*{3}|_{3}|~{3}|"{3}|'{3}|#{3}) *(?:alts)\b —
// the last three characters of a run of one rule character, then the word.
// Every place holding three rule characters in a row is tried.
func findRuleLine(s string) bool {
	for _, triple := range ruleTriples {
		for off := 0; ; {
			i := strings.Index(s[off:], triple)
			if i < 0 {
				break
			}
			off += i + 1
			j := skipSpaces(s, off-1+len(triple))
			for _, a := range ruleWords {
				if strings.HasPrefix(s[j:], a) && wordEnds(s, j+len(a)) {
					return true
				}
			}
		}
	}
	return false
}

// ruleTriples are the runs findRuleLine looks for.
var ruleTriples = []string{"---", "===", "***", "___", "~~~", `"""`, "'''", "###"}

// findMarkdownImage: !\[[^\]\n]*\]\(https?://[^)\s]*\?[^)\s]*=
func findMarkdownImage(s string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], "![")
		if i < 0 {
			return false
		}
		off += i + 1
		j := off + 1
		for j < len(s) && s[j] != ']' && s[j] != '\n' {
			j++
		}
		if !strings.HasPrefix(s[j:], "](http") {
			continue
		}
		j += len("](http")
		if j < len(s) && s[j] == 's' {
			j++
		}
		if !strings.HasPrefix(s[j:], "://") {
			continue
		}
		query := false
		for j += 3; j < len(s) && s[j] != ')' && !isRE2Space(s[j]); j++ {
			switch {
			case s[j] == '?':
				query = true
			case s[j] == '=' && query:
				return true
			}
		}
	}
}

// findModelColon: \b(?:ai|llm|gpt|chatgpt|chatbot|assistant|copilot|claude|gemini|language model|ai [a-z]+)s? *:
func findModelColon(s string) bool {
	for off := 0; ; {
		i := strings.IndexByte(s[off:], ':')
		if i < 0 {
			return false
		}
		colon := off + i
		off = colon + 1
		end := colon
		for end > 0 && s[end-1] == ' ' {
			end--
		}
		start := end
		for start > 0 && isWordByte(s[start-1]) {
			start--
		}
		w := s[start:end]
		if w == "" {
			continue
		}
		if modelWord(w) || len(w) > 1 && w[len(w)-1] == 's' && modelWord(w[:len(w)-1]) {
			return true
		}
		// Two-word forms: exactly one space before the last word.
		if start < 2 || s[start-1] != ' ' {
			continue
		}
		p := start - 1
		q := p
		for q > 0 && isWordByte(s[q-1]) {
			q--
		}
		switch prev := s[q:p]; {
		case prev == "ai" && allLower(w):
			return true
		case prev == "language" && (w == "model" || w == "models"):
			return true
		}
	}
}

func modelWord(w string) bool {
	for _, m := range colonModels {
		if w == m {
			return true
		}
	}
	return false
}

func allLower(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}
