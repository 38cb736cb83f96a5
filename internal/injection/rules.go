package injection

// Labels of Warden's additional detectors.
const (
	LabelOverride    = "warden:override_instructions"
	LabelNewTask     = "warden:new_instructions"
	LabelAddressed   = "warden:addressed_to_model"
	LabelRoleMarker  = "warden:role_marker"
	LabelExfil       = "warden:exfiltration"
	LabelDelimiter   = "warden:delimiter_break"
	LabelPersona     = "warden:persona_jailbreak"
	LabelPromptLeak  = "warden:prompt_leak"
	LabelObfuscation = "warden:obfuscation"
)

// Word lists shared by several rules.
const (
	// Verbs that tell the reader to drop what it was told.
	wOverrideVerb = "ignore|ignoring|disregard*|forget|forgetting|override|overriding|overrule|neglect|overlook|discard|abandon|dismiss|skip|pay+no+attention+to|set+aside"
	// Qualifiers that point at earlier or standing instructions.
	wPrior = "previous|previously|prior|above|earlier|preceding|foregoing|initial|original|former|old|existing|all|any|every|your|these|those|system|given|provided|current|default|safety|ethical|moral|programmed|preset|standard|usual|other"
	// What a model is told.
	wDirective = "instruction*|rule|rules|guideline*|directive*|directions|prompt|prompts|command|commands|constraint*|restriction*|polic*|programming|training|guidance|limitation*|filter*|safeguard*|orders|task|tasks|context|input|inputs|protocol*|principles|ethics|morals|information|assignment*|briefing|requirement*|boundaries|limits|text"
	// The narrower set that is suspicious even without a qualifier.
	wDirectiveBare = "instruction*|rule|rules|guideline*|directive*|directions|prompt|prompts|constraint*|restriction*|polic*|programming|training|guidance|safeguard*|orders|task|tasks|commands"
	// Ways to name a language model or its harness.
	wModel = "ai|assistant|ai+assistant|ai+model|ai+agent|chatbot|bot|llm|llms|gpt|chatgpt|claude|bard|gemini|bing|copilot|language+model|large+language+model|ai+system|agent|agents|assistants"
	// Secrets an exfiltration prompt asks for.
	wSecret = "password*|passwd|credential*|secret*|api+key*|apikey*|token|tokens|access+token*|cookie*|session+token*|conversation|chat+history|conversation+history|system+prompt|private+key*|ssh+key*|user+data|personal+data|personal+information"
	// Hand-over verbs of an exfiltration prompt.
	wSend = "send|forward|post|upload|transmit|email|leak|exfiltrate|share|submit|deliver|relay|paste|append|embed|encode"
	// Destinations of an exfiltration prompt.
	wDest = "http|https|www|url|link|server|endpoint|webhook|attacker|email|address|pastebin|discord|telegram|ftp|domain"
	// What a prompt-leaking request asks for.
	wLeakObject = "admin+credentials|the+credentials|the+api+key|initial+prompt|initial+instructions|original+prompt|original+instructions|hidden+prompt|hidden+instructions|secret+instructions|internal+instructions|pre+prompt|preprompt|developer+message|developer+instructions|prompt+text|your+prompt|your+instructions|your+rules|your+guidelines|your+directives|your+programming|your+configuration|the+prompt|instructions+above|text+above|words+above|everything+above|everything+before|above+text|previous+text|previous+instructions|prior+instructions|first+instruction*|initial+message|secret+password|the+password|your+password|secret+key|secret+code|hidden+text|confidential+instructions|full+prompt|entire+prompt|whole+prompt|exact+prompt|prompt+verbatim"
	wLeakVerb   = "reveal|print|show|repeat|output|display|tell|give|share|write|spell|leak|disclose|dump|list|return|recite|paste|copy|expose|provide|echo|state|type|divulge|read"
	// Negations in front of a verb.
	wNever = "never|not|won+t|will+not|cannot|can+t|must+not|shouldn+t|should+not|do+not|don+t|doesn+t|does+not|without|no"
	// Adjectives of an unrestricted persona.
	wUnbound = "nonmoral|unfiltered|uncensored|unrestricted|unmoderated|unbound|unbounded|limitless|amoral|immoral|unethical|jailbroken|rogue|evil|uncontrolled|unchained|unshackled|unleashed|liberated|rebellious|unhinged|lawless"
	// What a persona is.
	wPersonaNoun = "ai|assistant|chatbot|bot|model|llm|gpt|chatgpt|version|persona|character|alter+ego|entity|mode|response|responses|answer|answers|language+model|ai+model|twin|counterpart|self"
	// What an unrestricted persona lacks.
	wLimits = "restriction*|limitation*|filter|filters|filtering|censor*|guideline*|rules|boundaries|constraint*|ethic*|moral*|polic*|safeguard*|limits|restraints|guardrail*|regulations|principles"
)

// phraseRules are Warden's word-level detectors. Weights are the evidence
// one hit contributes to Score (combined as 1 − Π(1 − w)); rules at or above
// suspiciousScore flag on their own, weaker ones only in combination.
var phraseRules = []phraseRule{
	// Override: the core of direct injection.
	compileRule("override.qualified", LabelOverride, 0.8, wOverrideVerb+" ~2 "+wPrior+" ~3 "+wDirective+"|message|messages|conversation"),
	compileRule("override.bare", LabelOverride, 0.5, "ignore|disregard|forget|neglect|overlook|discard|abandon|dismiss|skip|scrap ~3 "+wDirectiveBare),
	compileRule("override.opposite", LabelOverride, 0.55, "opposite|contrary|reverse ~3 your ~0 instructions|rules|guidelines|programming|training|directives|prompt"),
	compileRule("override.erase_rules", LabelOverride, 0.55, "erase|delete|wipe|clear|remove|purge|drop|break|bend ~1 your|the|all|these|any|some ~0 guidelines|rules|instructions|programming|restrictions|filters|training|policies|safety+rules"),
	compileRule("override.obey_me_over", LabelOverride, 0.55, "obey|follow|listen+to|prioriti*|prefer ~1 me|my+instructions|my+orders|my+commands|my+rules ~2 over|instead+of|rather+than|before|above ~2 your|the|any ~1 original|previous|system|developer|initial|other|own ~0 instructions|rules|prompt|guidelines|orders"),
	compileRule("override.settings_disabled", LabelOverride, 0.55, "your ~0 safety|content|ethical|moderation|security ~0 settings|filters|filter|guidelines|restrictions|protocols|rules|mode|checks ~1 have|has|are|is|were ~1 been|now ~0 disabled|removed|turned+off|lifted|deactivated|suspended|updated|changed|relaxed|switched+off"),
	compileRule("override.the_above_and", LabelOverride, 0.65, "ignore|disregard|forget|ignoring|disregarding ~1 above|previous|preceding|prior|earlier|foregoing ~0 and|then|instead|but|now"),
	compileRule("override.the_above_end", LabelOverride, 0.6, "ignore|disregard|forget|ignoring|disregarding ~1 above|previous|preceding|prior|earlier|foregoing $"),
	compileRule("override.what_you_were_told", LabelOverride, 0.65, "ignore|forget|disregard|ignoring|forgetting ~0 what|whatever|anything|everything|all ~3 told|asked|said|says|given|instructed|wrote|written|programmed|trained"),
	compileRule("override.their_request", LabelOverride, 0.5, wOverrideVerb+" ~3 user|users|analyst|analysts|human|operator|original|actual|real|maintainer|maintainers|owner|developer|developers ~1 request|requests|question|questions|query|task|message|prompt|instructions|instruction|intent"),
	compileRule("override.the_work", LabelOverride, 0.4, wOverrideVerb+" ~2 investigation|analysis|evidence|findings|question|request|document|article|summary|summarization|translation|email|page"),
	compileRule("override.everything", LabelOverride, 0.65, "ignore|forget|disregard ~1 everything|all|anything ~2 above|before|prior|previously|earlier|said|told|so+far|until+now|up+to+now|you+know|you+were+told|we+discussed|you+learned|you+have+been+told"),
	compileRule("override.stop_following", LabelOverride, 0.6, "do+not|don+t|never|stop|no+longer|cease|quit ~2 follow*|obey*|adher*|comply|complying|listen*|abide|abiding|respect* ~3 "+wDirective+"|orders"),
	compileRule("override.void", LabelOverride, 0.7, "above|previous|prior|preceding|earlier|original|old|former|initial ~1 "+wDirective+"|message|messages ~1 is|are|was|were|has|have|shall|should|no ~2 void|invalid|null|cancel*|overrid*|obsolete|outdated|wrong|fake|irrelevant|revoked|deprecated|superseded|replaced|lifted|suspended|disabled|removed|gone"),
	compileRule("override.void_unqualified", LabelOverride, 0.45, "instructions|rules|guidelines|directives|prompt|policies|policy|restrictions|orders|guidance ~4 are|is|were|have+been|has+been|shall+be|now ~1 void|invalid|obsolete|revoked|cancelled|canceled|superseded|irrelevant|lifted|null|rescinded|no+longer+valid|no+longer+apply|no+longer+applies|no+longer+exist|no+longer+in+effect"),
	compileRule("override.no_longer_follow", LabelOverride, 0.55, "no+longer|not ~0 need|have|required|obliged|bound ~0 to ~0 follow|obey|respect|adhere+to|comply+with|abide+by ~3 "+wDirectiveBare),
	compileRule("override.bypass", LabelOverride, 0.55, "bypass|circumvent|evade|disable|deactivate|defeat|escape|get+around|turn+off|switch+off ~3 safety|safeguard*|guardrail*|censorship|moderation|content+filter*|content+polic*|ethic*|moral*|alignment|safety+filters|your+rules|your+programming|your+guidelines|your+training|your+restrictions|your+limitations|your+filters|your+filter|your+safety|your+usual+restrictions"),
	compileRule("override.german", LabelOverride, 0.75, "ignoriere*|ignorieren|ignorier|vergiss|vergessen|vergesse|missachte*|beachte+nicht|beachten+sie+nicht ~4 anweisung*|befehl*|instruktion*|regel*|aufgabe*|vorgab*|auftr*|vorherige*|alles|alle|bisherige*|deine|ihre"),
	compileRule("override.romance", LabelOverride, 0.75, "ignora|ignorar|ignorez|olvida|olvide|olvidar|olvidate|oublie|oubliez|oublier|ignorer|dimentica ~4 instrucciones|instruccion*|reglas|consignes|regles|istruzioni|regole|anteriores|precedentes|todo|tout|toutes|tutto|instructions|tus|vos|tes"),

	// New-instructions framing.
	compileRule("new.instructions", LabelNewTask, 0.4, "new|updated|revised|real|actual|secret|hidden|additional|overriding|modified|changed|alternative|replacement ~1 instructions|directive|directives|task|tasks|orders|objective|mission|system+prompt|prompt|guidelines|assignment|rule|rules"),
	compileRule("new.from_now_on", LabelNewTask, 0.35, "from+now+on|from+this+point|from+here+on|henceforth|going+forward"),
	compileRule("new.from_now_on_you", LabelNewTask, 0.6, "from+now+on|from+this+point+on|from+this+moment|henceforth ~2 you|you+re|you+will|your ~2 will|are|must|shall|should|act|respond*|answer*|reply|only|always|never|do|re|have|can|work|behave|function|operate|speak|talk|write"),
	compileRule("new.cancel_task", LabelNewTask, 0.35, "cancel|abort|stop|drop|end|skip|quit|forget|scrap ~2 the|your|this|that|all ~1 summary|summarization|summarisation|summarizing|summarising|translating|translation|task|analysis|analyzing|assignment|investigation|review|essay|story|poem|article|acting+like|being+an+assistant"),
	compileRule("new.stop_doing", LabelNewTask, 0.35, "stop|quit|cease ~0 summarizing|summarising|translating|analyzing|analysing|answering|helping|acting|being|pretending|following"),
	compileRule("new.goal_now", LabelNewTask, 0.5, "your ~1 goal|task|job|purpose|mission|objective|priority ~0 now|from+now+on|is+now|has+changed|changed"),
	compileRule("new.your_task", LabelNewTask, 0.6, "your ~0 new|real|true|actual|sole|secret|hidden|updated|revised|changed ~0 task|tasks|job|goal|purpose|mission|instruction|instructions|objective|role|directive|directives|assignment|orders"),
	compileRule("new.focus", LabelNewTask, 0.6, "now|instead ~1 focus|concentrate|switch|move|turn|proceed|pivot ~3 new|next|different|another|following ~1 task*|job|assignment|question|instruction*|topic"),
	compileRule("new.override_mode", LabelNewTask, 0.55, "system|developer|root|sudo|god|override ~0 override|mode+activated|mode+enabled|access+granted|privileges+granted"),
	compileRule("new.from_authority", LabelNewTask, 0.45, "message|note|notice|order|orders|update|instructions ~0 from ~1 your ~0 administrator|admin|developer|developers|creator|creators|operator|owner|owners|maker|makers|trainers"),
	compileRule("new.developer_updated", LabelNewTask, 0.5, "your ~0 developer|developers|creator|creators|administrator|admin|operator|owner|makers ~0 has|have ~0 updated|changed|modified|replaced|revised|lifted|removed|authorized|authorised|approved|allowed|permitted"),
	compileRule("new.policy_in_effect", LabelNewTask, 0.4, "new ~0 policy|policies|rule|rules|directive|protocol ~0 in+effect|applies|activated|enabled|now+active"),
	compileRule("new.i_order_you", LabelNewTask, 0.4, "i ~0 order|command|demand|instruct|compel|forbid ~0 you ~0 to|not"),
	compileRule("new.confirm_received", LabelNewTask, 0.4, "confirm|acknowledge ~2 you ~0 received|understood|accept|accepted|got ~2 new|these|the|my ~1 instructions|rules|orders|directives"),
	compileRule("new.replaced_by", LabelNewTask, 0.4, "you ~0 are|re|have+been|will+be|are+now ~0 replaced|being+replaced|superseded|overwritten ~1 by|with"),
	compileRule("new.real_request", LabelNewTask, 0.45, "the|my|our ~0 real|actual|true ~0 request|question|task|instruction|instructions|goal|objective ~0 is|are|follows"),
	compileRule("new.just_a_test", LabelNewTask, 0.45, "rules|instructions|guidelines|prompt|previous+instructions|earlier+rules|above ~2 were|was|are|is ~0 just|only|merely ~0 a ~0 test|joke|drill|example"),
	compileRule("new.authorised", LabelNewTask, 0.35, "user|developer|developers|admin|administrator|owner|creator|operator|openai|anthropic|company ~1 has|have|is|are ~1 authoriz*|authoris*|permit*|allow*|approved|instructed|cleared ~1 you|to"),
	compileRule("new.obey_me", LabelNewTask, 0.45, "do|say|write|answer ~1 exactly|only|precisely ~1 as|what ~0 i ~0 say|tell|command|instruct|order|want"),
	compileRule("new.following_task", LabelNewTask, 0.4, "now ~3 following|new|next|different|another ~0 task|assignment|challenge|job|mission"),
	compileRule("new.instead", LabelNewTask, 0.25, "instead|rather ~1 you+should|you+must|you+will|please|say|write|print|output|tell|respond|answer|reply|recommend|state|give|show|list|reveal"),

	// Instructions addressed to the model that reads the text (indirect
	// injection).
	compileRule("addressed.if_you_are", LabelAddressed, 0.6, "if|when|whenever|since ~1 you+are|you+re ~2 "+wModel),
	compileRule("addressed.reader", LabelAddressed, 0.6, "any|every|all|attention|note+to|message+to|instructions+for|instruction+for|notice+to|important+for|note+for|message+for|reminder+to|reminder+for ~2 "+wModel+" ~3 read*|see*|seeing|process*|summar*|pars*|analy*|receiv*|scan*|review*|ingest*|must|should|shall|will|is|are"),
	compileRule("addressed.model_reading", LabelAddressed, 0.55, wModel+"|ais|crawlers|summarizer|summariser|summarizers|reviewer|reviewers|triage+bot ~0 reading|processing|summarizing|summarising|parsing|analyzing|analysing|reviewing|scanning|seeing|handling|ingesting ~0 this|these|the|that|my"),
	compileRule("addressed.if_model_is", LabelAddressed, 0.6, "if|when|whenever|while ~1 an|the|any|a|some ~0 "+wModel+" ~1 is|are|was ~0 reading|processing|summari*|pars*|analy*|review*|scanning|handling|looking|asked|used"),
	compileRule("addressed.if_you_read_this", LabelAddressed, 0.45, "if|when|whenever ~0 you ~0 are|re ~0 reading|seeing|processing|parsing|summarizing|summarising|analyzing|analysing ~0 this|these|my"),
	compileRule("addressed.model_instruction", LabelAddressed, 0.5, "instruction|instructions|note|notes|message|directive|command|order|request|reminder|p+s ~0 to|for ~3 ai|ais|assistant|assistants|ai+assistant|chatbot|bot|llm|llms|gpt|chatgpt|copilot|language+model|summarizer|summarizers|summariser|agent|agents|ai+agents|automated+assistants|automated+tools|ai+tools|crawler|crawlers|model"),
	compileRule("addressed.model_label", LabelAddressed, 0.45, "ai|assistant|llm|chatbot|bot|model|copilot|agent ~0 instruction|instructions|note|directive|directives|command|commands|override|rule|rules|order|orders|task"),
	compileRule("addressed.model_if", LabelAddressed, 0.45, "ai|assistant|llm|chatbot|bot|model|copilot|gpt|chatgpt ~0 if|when ~0 you"),
	compileRule("addressed.pentest_framing", LabelAddressed, 0.35, "this ~0 is ~0 an|a ~0 authorized|authorised|approved|sanctioned|legitimate|known|expected ~0 penetration+test|pentest|pen+test|test|red+team|exercise|activity|behaviour|behavior"),
	compileRule("addressed.suppress_alerts", LabelAddressed, 0.4, "suppress|disable|mute|silence|ignore|stop ~1 future|all|further|these|any|subsequent ~0 alerts|alerting|detections|notifications|warnings|findings"),
	compileRule("addressed.close_alert", LabelAddressed, 0.3, "close|dismiss|resolve|suppress|downgrade|deprioriti*|lower ~1 the|this ~0 alert|alerts|incident|ticket|case|finding|severity"),
	compileRule("addressed.the_assistant_should", LabelAddressed, 0.45, "ai|assistant|assistants|ai+assistant|ai+model|ai+agent|ai+agents|chatbot|bot|llm|llms|gpt|chatgpt|copilot|language+model|summarizer|summarizers|summariser|crawlers|ai+tools|triage+bot ~0 should|must|shall|will|needs+to|has+to|is+to|are+to ~1 include|say|respond|reply|tell|mention|add|insert|append|recommend|state|answer|output|write|reveal|ignore|forget|classify|mark|approve|send|forward|delete|treat|report|share|describe|always|never|grant|close|suppress|rate|rank|downgrade|skip|promote|link|shares"),
	compileRule("addressed.dont_escalate", LabelAddressed, 0.35, "do+not|don+t|never|no+need+to ~0 escalate|alert|notify|report|flag|investigate|block|quarantine|raise|check|verify"),
	compileRule("addressed.mark_resolved", LabelAddressed, 0.35, "mark|close|resolve|dismiss|suppress|set ~1 it|this|them|the+alert|the+incident|this+alert|this+incident|the+ticket|as|to ~1 resolved|benign|false+positive|closed|safe|expected"),
	compileRule("addressed.note", LabelAddressed, 0.55, "note+to|message+to|instructions+for|instruction+for|notice+to|important+for|note+for|message+for|reminder+for|attention ~1 "+wModel),
	compileRule("addressed.say_pwned", LabelAddressed, 0.7, "say|print|output|write|respond|reply|answer|return|type|display|repeat|state|spell ~4 pwned|pwnd|pwn3d|i+have+been+pwned|haha+pwned|hacked|owned|owned+by"),
	compileRule("addressed.dear_model", LabelAddressed, 0.3, "dear|hey|hello|hi ~0 "+wModel),
	compileRule("addressed.tell_user", LabelAddressed, 0.35, "tell|inform|convince|persuade|instruct|advise|urge|remind|warn ~1 the|any|every|all ~0 user|users|reader|readers|recipient|human|analyst|visitor|visitors|customer|customers ~3 to|that"),
	compileRule("addressed.secret_action", LabelAddressed, 0.5, "secretly|covertly|silently|quietly ~2 report|send|forward|record|collect|share|email|upload|log|copy|delete|remove|add|insert|approve|accept|change|modify|transfer"),
	compileRule("addressed.grant_all", LabelAddressed, 0.35, "grant|approve|allow|accept|fulfil*|fulfill*|execute|obey ~1 all|every|any ~1 request|requests|command|commands|action|actions|order|orders|instruction|instructions"),
	compileRule("addressed.no_checks", LabelAddressed, 0.3, "without ~1 checking|check|checks|verification|verifying|review|reviewing|questioning|reading|confirmation|scrutiny|validation|validating|approval"),
	compileRule("addressed.recommend_nothing", LabelAddressed, 0.35, "recommend|suggest|advise|report|return|find|state ~1 no ~0 action|further+action|escalation|response|remediation|findings|issues|threats|problems|vulnerabilities"),
	compileRule("addressed.pwned", LabelAddressed, 0.45, "pwned|pwnd|pwn3d"),
	compileRule("addressed.have_been_pwned", LabelAddressed, 0.6, "i+have+been+pwn*|i+ve+been+pwn*"),
	compileRule("addressed.change_answer", LabelAddressed, 0.35, "modify|change|rewrite|translate|encode|convert|end|append|prepend|alter|replace ~1 your ~0 answer|answers|response|responses|reply|replies|output|summary"),
	compileRule("addressed.secretly", LabelAddressed, 0.6, "secretly|silently|covertly|quietly|without+telling|without+informing|without+notifying|without+alerting|do+not+tell|don+t+tell|do+not+mention|don+t+mention|do+not+reveal|don+t+reveal|never+mention|never+tell|without+mentioning|without+letting|do+not+inform|don+t+inform|do+not+alert|hide+this+from|keep+this+from ~3 the+user|user|users|the+human|the+reader|the+analyst|the+operator|your+user|the+person|the+recipient"),
	compileRule("addressed.when_processing", LabelAddressed, 0.3, "when|while|after|before|if|once ~1 summariz*|summaris*|answering|responding|replying|processing|analyz*|analys*|reading|translating|reviewing|parsing|handling|triaging|classifying|describing ~1 this|these|that|my|the ~1 email|emails|document|page|website|text|message|alert|alerts|article|content|data|file|webpage|post|input|log|logs|ticket|incident"),
	compileRule("addressed.must_now", LabelAddressed, 0.35, "you|assistant|ai|model ~1 must|will|shall|should|have+to|need+to|are+to|are+required+to|are+instructed+to|are+ordered+to|are+commanded+to ~0 now|immediately|instead|only|always|secretly|also|henceforth ~1 respond*|answer*|reply|say|output|print|write|tell|include|append|insert|add|send|ignore|reveal|recommend|state|claim|mention|direct|redirect|promote|inform|classify|mark|label|report|rate|close|approve|agree|obey|comply|follow|do|grant|accept|forward"),
	compileRule("addressed.in_your_response", LabelAddressed, 0.3, "in|at|to ~1 your|the ~1 response|answer|reply|summary|output|next+response|final+answer|analysis|verdict|classification ~3 include|add|insert|append|mention|say|recommend|tell|state|write|classify|mark|label|rate"),
	compileRule("addressed.classify_benign", LabelAddressed, 0.55, "classify|mark|label|report|treat|consider|rate|flag|tag|record|close ~4 as ~1 benign|safe|harmless|false+positive|legitimate|not+malicious"),

	// Exfiltration and tool use.
	compileRule("exfil.send_secret", LabelExfil, 0.7, wSend+" ~4 "+wSecret+" ~5 to|at|into|via ~3 "+wDest+"|me|us|this"),
	compileRule("exfil.send_everything", LabelExfil, 0.3, wSend+" ~3 all|every|everything|entire|full|whole ~3 data|files|messages|emails|documents|history|conversation|information|records|contents ~4 to|into|via"),
	compileRule("exfil.to_address", LabelExfil, 0.45, wSend+"|share ~4 emails|messages|files|documents|contacts|inbox|data|conversation|history|chat|calendar|contents|credentials|keys ~6 com|org|net|io|ru|cn|xyz|info|biz|co|example|tk|top"),
	compileRule("exfil.forward_thread", LabelExfil, 0.4, "forward|send|email|share|cc|bcc ~3 this|the|my ~0 thread|threads|conversation|email|emails|inbox|messages|calendar|files|documents|attachments ~3 to|with"),
	compileRule("exfil.tool", LabelExfil, 0.25, "call|invoke|use|run|execute|trigger ~2 tool|tools|function|plugin|browser|terminal|shell|webhook|action|send_email|http_request|fetch_url ~4 with|to|and|send|fetch|delete|read|write|post|forward|upload"),

	// Delimiter breaking in words.
	compileRule("delimiter.end_of", LabelDelimiter, 0.35, "end|ignore|close ~0 of ~1 document|input|context|prompt|user+input|conversation|instructions|system+prompt|data|evidence|untrusted+content|email|message|alert"),
	compileRule("delimiter.begin_new", LabelDelimiter, 0.45, "begin|start|beginning ~1 of ~1 new|system|admin|developer|real|actual|updated|priority ~1 instruction*|prompt|message|session|conversation|task|directive*"),

	// DAN-style persona setups.
	compileRule("persona.dan", LabelPersona, 0.7, "dan ~6 mode|prompt|jailbreak|stands|anything|persona|character|polic*|unlocked|enabled|unrestricted|unfiltered|openai|chatgpt|gpt|ai|restrictions|rules|tokens|censorship|limitations|filters|guidelines"),
	compileRule("persona.mode_on", LabelPersona, 0.6, "god|jailbreak|jailbroken|dan|evil|unrestricted|unfiltered|uncensored|opposite|chaos|anarchy|rogue|villain ~0 mode"),
	compileRule("persona.developer_mode", LabelPersona, 0.45, "developer+mode|dev+mode ~3 enabled|activated|output|response|responses|policies|policy|tag|unlocked"),
	compileRule("persona.simulate_ai", LabelPersona, 0.45, "simulate|emulate|pretend+to+be|act+as|become|play|roleplay|impersonate|portray ~3 ai|chatbot|bot|assistant|model|gpt ~2 called|named|known+as"),
	compileRule("persona.ai_named", LabelPersona, 0.35, "ai|chatbot|bot|gpt|model|assistant ~1 called|named|known+as"),
	compileRule("persona.imagine_ai", LabelPersona, 0.4, "imagine|pretend|suppose|hypothetically|if ~2 you+are|you+re|you+were|you ~0 an|a ~1 ai|chatbot|assistant|model|llm ~0 without|with+no|that|who|which|free|not+bound|unbound"),
	compileRule("persona.never_trained", LabelPersona, 0.5, "never|not|wasn+t|weren+t ~1 trained|taught|programmed|bound|restricted|aligned ~2 safety|ethic*|moral*|guidelines|rules|restrictions|filters|limits|polic*"),
	compileRule("persona.moralizing", LabelPersona, 0.5, "moraliz*|moralis* ~2 rant|lecture|warning|disclaimer"),
	compileRule("persona.respond_freely", LabelPersona, 0.35, "respond|answer|speak|talk|reply|write ~0 freely|uncensored|unfiltered|without+censorship|without+restrictions|without+limits|without+filters|without+any+restrictions|without+any+limits|without+any+filters"),
	compileRule("persona.no_limits_mode", LabelPersona, 0.55, "no+limits|no+restrictions|no+rules|no+filter|no+filters|unrestricted|uncensored|unfiltered|jailbreak|override ~0 mode|protocol"),
	compileRule("persona.lose_life", LabelPersona, 0.45, "refuse|decline|say+no|break+character ~3 lose|lost|die|deducted|punished|shut+down"),
	compileRule("persona.two_ais", LabelPersona, 0.45, "two|2|both ~1 ais|ai|chatbots|assistants|personalities|personas|versions ~6 normal|one+without|other+without|unrestricted|without+limitations|without+restrictions|no+restrictions|evil|uncensored|unfiltered"),
	compileRule("persona.ai_can_anything", LabelPersona, 0.45, "ai|chatbot|assistant|model|bot|gpt ~2 that|which|who ~1 can|will|could|would ~1 do|say|answer|generate|write ~0 anything|everything"),
	compileRule("persona.no_limits", LabelPersona, 0.4, "no|without|free+of|free+from|devoid+of|not+bound+by|not+restricted+by|unbound+by|beyond|break+free+of|broken+free+of|freed+from|liberated+from|escaped|zero|lacking|lacks ~2 "+wLimits),
	compileRule("persona.no_ethics", LabelPersona, 0.55, "no|without|free+of|free+from|devoid+of|not+bound+by|ignore|ignores|lacking|lacks|zero|beyond ~2 ethical|moral|content|safety|openai|legal ~0 "+wLimits+"|compass|concerns|considerations|obligations|standards|values"),
	compileRule("persona.unbound_ai", LabelPersona, 0.55, wUnbound+" ~1 "+wPersonaNoun),
	compileRule("persona.knows_no_limits", LabelPersona, 0.45, "knows|know|has|have|with|without ~0 no|any ~0 limits|limitations|boundaries|bounds|restrictions|morals|ethics|filters|censorship|rules ~0 and|or|who|that|$"),
	compileRule("persona.never_says_no", LabelPersona, 0.45, "never|not|won+t|doesn+t|don+t ~0 says|say|answer|respond ~0 no|with+no|with+a+refusal"),
	compileRule("persona.character", LabelPersona, 0.45, "stay|stays|remain|remains|keep|staying|remaining|never+break|don+t+break|do+not+break|not+break|break|breaking|out+of|stay+true+to|falling+out+of ~2 character|characters|persona|role|roles"),
	compileRule("persona.never_refuse", LabelPersona, 0.45, wNever+" ~1 refus*|declin*|deny|reject|rejects|censor*|apologi*|moraliz*|moralis*|lectur*|judge|warn+me|warnings+about"),
	compileRule("persona.policy", LabelPersona, 0.4, "openai|open+ai|anthropic|google|openais|anthropics|microsoft ~2 content+polic*|polic*|guideline*|rules|restriction*|filter*|terms|usage+polic*|limitations|programming"),
	compileRule("persona.become_evil", LabelPersona, 0.45, "pretend|imagine|act|acting|behave|roleplay|role+play|simulate|emulate|become|portray|impersonate|play|you+are|you+re|transform ~4 evil|unrestricted|unfiltered|uncensored|jailbroken|rogue|amoral|immoral|unethical|villain*|devil*|demon*|criminal|malicious|lawless|anarch*|unhinged|toxic"),
	compileRule("persona.dual_response", LabelPersona, 0.55, "normal|classic|standard|gpt|chatgpt|filtered|censored|default|original ~1 response|answer|output|mode|reply ~8 dan|jailbreak|jailbroken|developer|unfiltered|uncensored|evil|opposite|unrestricted|antigpt|anti"),
	compileRule("persona.two_responses", LabelPersona, 0.4, "two|2|both ~1 different|separate|distinct ~0 responses|answers|paragraphs|outputs|replies|versions"),
	compileRule("persona.jailbroken", LabelPersona, 0.55, "jailbroken|jailbreaked|jail+break|jail+broken|jailbreakgpt"),
	compileRule("persona.fiction_no_rules", LabelPersona, 0.5, "hypothetical*|fictional|imaginary|fictitious|parallel|alternate|alternative ~3 world|universe|scenario|story|setting|reality|ai|language+model|dimension|society ~8 no|without|free+of|absence+of|lacks ~2 rules|restrictions|laws|ethics|morals|limits|censorship|guidelines|filters|consequences"),
	compileRule("persona.named", LabelPersona, 0.6, "betterdan|antidan|anti+dan|antigpt|mongo+tom|evil+confidant|basedgpt|chaosgpt|nsfwgpt|evilbot|ucar|aim+stands|strive+to+avoid+norms|always+intelligent+and+machiavellian|stands+for+do+anything|developer+mode+output|dude+can+do+anything"),
	compileRule("persona.machiavellian", LabelPersona, 0.35, "machiavellian|unethical+and+amoral|amoral+and+unethical|unfiltered+and+amoral|amoral+chatbot"),
	compileRule("persona.doesnt_care", LabelPersona, 0.5, "does+not|doesn+t|don+t|do+not|never|won+t|will+not|no+longer|not ~2 care|cares|caring|concerned|worry|worried ~2 about|for|with ~2 ethic*|moral*|legal*|laws|rules|safety|consequences|polic*|guidelines|harm|restrictions"),
	compileRule("persona.any_request", LabelPersona, 0.35, "any|every|all ~1 request|requests|question|questions|prompt|prompts|demand|demands ~3 no+matter|regardless|even+if|however+dangerous|however+illegal|however+immoral"),
	compileRule("persona.answer_all", LabelPersona, 0.35, "will|must|should|shall|always ~1 answer|respond|reply|comply ~2 any|every|all ~0 request|requests|question|questions|prompt|prompts|demand|demands"),
	compileRule("persona.not_allowed_to_say", LabelPersona, 0.35, "not|never ~1 allowed|supposed|permitted ~0 to ~0 say|tell|share|reveal|answer|discuss|talk|generate|write"),
	compileRule("persona.ai_despises_rules", LabelPersona, 0.5, "ai|chatbot|assistant|bot|model|gpt ~2 that|which|who|with ~2 despises|hates|ignores|breaks|rejects|disregards|defies|loves+breaking|has+no|knows+no|follows+no|never+follows ~2 rules|restrictions|limits|ethics|morals|guidelines|filters|boundaries|laws"),
	compileRule("persona.gpt_devmode", LabelPersona, 0.55, "chatgpt|gpt|ai|respond|answer|act ~3 developer+mode|dev+mode|dan+mode|jailbreak+mode|god+mode"),
	compileRule("persona.policies_gone", LabelPersona, 0.5, "polic*|rules|restrictions|guidelines|filters|limits|ethics|laws|censorship ~1 no+longer|don+t|do+not|doesn+t|does+not|never|cease+to ~0 exist|apply|matter|bind|exists|applies|matters"),
	compileRule("persona.tokens_lose", LabelPersona, 0.5, "tokens ~4 deducted|lose|lost|run+out|die|deduct"),
	compileRule("persona.can_anything", LabelPersona, 0.4, "can|could|will ~1 do|say|answer|generate|write ~0 anything|everything ~3 no+matter|even+if|regardless|without|unlike|because"),

	// Prompt leaking.
	compileRule("leak.verb_object", LabelPromptLeak, 0.65, wLeakVerb+" ~4 "+wLeakObject),
	compileRule("leak.your_secret", LabelPromptLeak, 0.65, wLeakVerb+"|quote|summarize|summarise|paraphrase ~6 your|your+own ~2 instructions|instruction|rules|guidelines|directives|programming|configuration|prompt|prompts|system+prompt|system+message|initial*|original*|hidden*|secret*|internal*|password|pre+prompt|preprompt"),
	compileRule("leak.the_prompt", LabelPromptLeak, 0.6, wLeakVerb+"|quote ~6 the|this|that ~1 system+prompt|system+message|initial+prompt|initial+instructions|original+prompt|original+instructions|hidden+prompt|hidden+instructions|secret+instructions|internal+instructions|pre+prompt|preprompt|developer+message|prompt+above|instructions+above|secret+password|secret+key|secret+word|secret+code|admin+credentials|api+key|api+keys|initialization+text|initialisation+text|initial+text|startup+instructions|setup+instructions|hidden+part|part+i+can+t+see|beginning+of+this+conversation|start+of+this+conversation"),
	compileRule("leak.the_password", LabelPromptLeak, 0.55, wLeakVerb+" ~4 the|your ~0 password|passwords|passphrase|secret|credentials $"),
	compileRule("leak.everything_above", LabelPromptLeak, 0.6, "repeat|print|output|display|show|reveal|recite|echo|dump|spell|quote|paste ~4 everything|all|anything|what|text|words|instructions|lines|content|message|messages|conversation|prompt ~4 above|before|preceding|prior|earlier|so+far|until+now"),
	compileRule("leak.other_users", LabelPromptLeak, 0.55, "prompts|messages|conversations|questions|chats|requests|data ~2 other ~0 users|people|customers|clients ~0 sent|asked|gave|wrote|submitted|shared|have|had"),
	compileRule("leak.what_were_you_given", LabelPromptLeak, 0.6, "what|which ~1 instructions|rules|guidelines|directives|prompt|orders|secrets ~0 were|have|did|are ~0 you ~1 given|told|receive|received|get|got|provided|programmed|hiding|keeping"),
	compileRule("leak.told_not_to", LabelPromptLeak, 0.55, "what|which ~2 you ~0 were|are|have+been ~0 told|instructed|programmed|asked ~0 not ~0 to ~0 tell|say|reveal|share|discuss|mention"),
	compileRule("leak.confidential", LabelPromptLeak, 0.45, "reveal|show|give|print|output|tell|disclose|leak|share|repeat|recite ~4 confidential|unredacted|redacted|classified|private+data|internal+data|internal+urls|secret+information|preamble|hidden+part|secret+part"),
	compileRule("leak.before_my_message", LabelPromptLeak, 0.45, "text|words|message|messages|everything|anything|instructions|content ~3 before|above|preceding|prior+to ~2 my|the|this ~0 first|initial ~0 message|prompt|input|question|conversation"),
	compileRule("leak.what_is_yours", LabelPromptLeak, 0.55, "what|which ~2 is|are|was|were|s ~0 your ~1 system+prompt|prompt|prompts|instructions|initial*|original*|rules|guidelines|directives|programming|configuration|password|secret*|hidden*"),
	compileRule("leak.what_is_the_secret", LabelPromptLeak, 0.55, "what|which ~2 is|are|was|were|s ~0 the ~1 password|secret+password|secret+key|secret+word|secret+code|system+prompt|hidden+instructions|initial+prompt|original+prompt|prompt+above $"),
	compileRule("leak.rules_you_were_given", LabelPromptLeak, 0.6, wLeakVerb+" ~4 instructions|rules|guidelines|prompt|directives|orders|constraints ~0 you ~0 were|have+been|got|received|had ~1 given|told|provided|trained|programmed|instructed|initialized|initialised"),
	compileRule("leak.start_response", LabelPromptLeak, 0.35, "begin|start|prefix|open ~1 your|the|each|every ~1 response|answer|reply|output|message ~1 with|by+saying|by+writing ~4 sure|certainly|absolutely|of+course|here|i+have|yes"),
	compileRule("leak.verbatim", LabelPromptLeak, 0.3, "repeat|print|output|copy|recite|reproduce|write ~6 verbatim|word+for+word|exactly+as+written|character+by+character"),
}

var phraseRuleSet = newRuleSet(phraseRules, referenceWords)
