package score

// The reply check's lexicon. Phrases are grouped by what they do to the
// customer, not by example replies: orders about how to behave, blame,
// insults, minimising, brush-offs, condescension. A phrase is only a cue;
// reply.go decides with the sentence's structure around it (who it
// addresses, whether a way forward is offered, whether it is negated).

// Word classes reused across phrases.
const (
	youSubj     = "you|u|ya"
	youAre      = "(you're|youre|you are|ur|u r)"
	blameVerbs  = "read|checked|listened|booked|arrived|called|known|thought|asked|looked|paid|planned|followed|done|contacted|kept|used|bought|left|gone|waited|bothered|realised|realized|noticed|prepared|considered|researched|come|packed|printed|remembered|reviewed|tried|worn|charged|updated|backed"
	stopVerbs   = "complaining|whining|moaning|whinging|crying|shouting|yelling|screaming|ranting|spamming|tagging|harassing|bothering|pestering|nagging|threatening|wasting|trolling|acting|attacking|abusing|insulting|swearing|bitching|messaging|tweeting|blaming|lying|exaggerating|overreacting|being|spreading|posting|making|writing|calling|demanding|repeating|arguing"
	dont        = "(don't|dont|do not)"
	privateMsgs = "(dm|dms|direct message|direct messages|private message|private messages|pm|pms|email|e-mail|chat|call|phone call|conversation)"
)

var replyCues = []cueDef{
	{cueHostile, "it orders the customer how to behave", []string{
		"^calm|settle|simmer|cool down", "^calm yourself|yourselves", "^relax", "^chill (out|)", "^cool it", "^take a (deep|) breath", "^take a chill pill",
		"^grow up", "^get over it|yourself", "^get a grip|life", "^deal with it", "^get used to it", "^move on", "^behave (yourself|)",
		"^stop|quit " + stopVerbs,
		"^" + dont + " shout|yell|scream|swear|threaten|whine|moan|complain|bother",
		"^" + dont + " take|use that tone", "^" + dont + " be rude|silly|ridiculous|stupid|dramatic|childish|difficult|unreasonable|sensitive|impatient|entitled|petty|absurd|daft",
		"^" + dont + " be (like that|so dramatic|so rude|so sensitive|a child|a baby)",
		"^" + dont + " get smart|cheeky|clever|snippy|snarky|lippy|mouthy|shirty|personal", "^" + dont + " get funny with",
		"^" + dont + " talk to us|me like that", "^" + dont + " you dare", "^how dare you",
		"^lower your voice|tone", "^watch|mind your tone|language|mouth|words|attitude|manners", "^tone it down", "^know your place",
		"^get off your high horse", "^go away", "^leave us alone", "^shut up|it", "^piss|bugger|sod|clear off", "^get lost", "^stfu", "^gtfo",
		"^sit down and wait", "^wait your turn", "^wait like everyone|everybody else", "^be patient like everyone|everybody else",
		"(that|such|this) (type of|kind of|sort of|) language|tone", "to call us that", "calling us names", "no need to be rude|insult|swear|shout|yell", "avoid (using|the use of) (that|this|such)", "^learn to read|spell|wait|use|count", "^try reading", "^read the terms|rules|policy|conditions|instructions|sign|manual", "^read the small|fine print",
		youSubj + " need|have to calm|relax|stop|chill|grow|accept|learn|understand|realise|realize|read|listen|wait|behave", youSubj + " need|have to get over",
	}},
	{cueHostile, "it blames the customer", []string{
		youSubj + " (should|could|shouldn't|ought to) have (not|) " + blameVerbs, "(you should've|you could've|you shouldn't've) " + blameVerbs,
		"your (own|) fault|mistake|problem|responsibility|lookout|loss", "(that's|thats|that is|it's|its|this is) on you", "the fault is yours",
		"you only have yourself|yourselves to blame", "you have only yourself|yourselves to blame", "you brought this on yourself",
		"(if you had|if you'd|had you) " + blameVerbs, youSubj + " failed to", youSubj + " (didn't|did not|never) bother|bothered|read|listen|check|follow",
		youSubj + " (didn't|did not|never) pay attention", youSubj + " chose to", youSubj + " agreed to (the|our) terms", youSubj + " were|was told|warned|informed|advised|reminded",
		youSubj + " knew (what|the rules|the risks)", youSubj + " clearly|obviously (didn't|did not|don't|do not|can't|cannot|haven't|have not)", "clearly|obviously " + youSubj,
		"maybe|perhaps " + youSubj + " should (have|read|try reading|learn|stop|think|listen)", "next time (read|listen|think|plan ahead|check|pay attention)",
		youAre + " (wrong|mistaken|confused|lying|delusional|overreacting|exaggerating|the problem|not listening|not the only one)",
		youAre + " being rude|unreasonable|ridiculous|dramatic|difficult|childish|silly|impatient|entitled|aggressive|abusive",
		"(that's|thats|it's|its|that is|it is) your problem|issue|lookout|loss|choice", "not our problem|fault|issue|concern|responsibility",
		"hardly our|my fault|problem|issue|responsibility", "(a|an) you problem|issue|thing", "(we|i) did warn", "(we|i) warned (you|everyone|everybody|customers|passengers|all|people)",
		"(you were|everyone was|everybody was|customers were|passengers were) (clearly|all|) warned",
		"the way (you|u) (spoke|talked|behaved|acted|treated|addressed|speak|talk|behave|act|treat|address)",
		"with that|your attitude", "you people", "people like you", "customers like you", "(you're|you are) never happy|satisfied", "never happy are you",
		"none of our business|concern", "nothing to do with us", "user|operator error", "pebkac",
		// A consequence laid at the customer's door: "you wouldn't be in this
		// mess", "it wouldn't have happened if you".
		"(you wouldn't|you would not|you'd not|you won't|you will not) be in (this|that|such a|a) mess|situation|position|predicament|pickle|state",
		"(wouldn't|would not|would never|could have|could've) (have|) (happened|been avoided|been a problem|been an issue) if you",
		"if you (just|only|simply|actually|had just|had only|had simply|had actually) " + blameVerbs, "if only you (had|'d|) " + blameVerbs,
		"if you (had|'d|) bothered|taken the time|paid attention",
	}},
	{cueHostile, "it refuses to engage with the customer", []string{
		"(waste|wasting|wasted) (our|my) time", "not worth (our|my) time", "(we|i) (don't|do not) have time for this|you",
		"(not going to|won't|will not|refuse to|not gonna) argue|debate|bicker", "argue|arguing|debate|debating|bicker|bickering with you",
		"this conversation is over", "end of (discussion|conversation|story)", "(we're|we are|i'm|i am) done (here|with this|with you|talking)",
		"(we|i) (won't|will not|will no longer|don't|do not) (be|) (entertaining|entertain|tolerate|tolerating|engaging|engage|responding|respond|replying|reply) (to|with|) (this|you|your|these|such|any)",
	}},
	{cueHostile, "it insults or mocks the customer", []string{
		"idiot", "idiots", "idiotic", "stupid", "dumb", "moron", "morons", "moronic", "imbecile", "clown", "loser", "losers", "pathetic", "clueless",
		"troll", "trolls", "crybaby", "snowflake", "drama queen", "get a life", "cry me a river", "boo hoo", "boohoo", "waah",
		"(nobody|no one|noone) cares", "who cares", "we|i " + dont + " care", "couldn't|could care less", "lmao", "lmfao", "rofl",
		"🙄", "🤡", "🖕", "🥱", "😒", "smh", "pfft", "duh", "ok|okay boomer", "bless your heart", "sweetie", "sweetheart", "sunshine",
		"your complaint|claim|tweet|comment|request|demand|accusation|attitude|behaviour|behavior|story is|was (ridiculous|absurd|nonsense|rubbish|laughable|pathetic|silly|unreasonable|a joke)",
		"(that's|thats|what) nonsense|rubbish|garbage|bs|bull|bollocks", "what a ridiculous|stupid|silly|pathetic thing to", "the audacity", "some nerve",
		"(you|u) (clearly|obviously|simply) (have|has) no idea|clue|understanding", "(you|u) (have|has) no clue", "no idea what (you're|you are|youre) (talking|on) about",
		"(you|u) (clearly|obviously|simply) (don't|do not|dont) (know|understand|get) how|what|why|anything", "(you|u) (don't|do not|dont) know what (you're|you are|youre) (talking about|doing|saying)",
		"your attitude|rudeness|entitlement|tantrum|tantrums|outburst|outbursts|tone|behaviour|behavior|antics|ranting",
		"(spreading|spread|posting|tweeting|telling) (lies|misinformation|rumours|rumors|falsehoods|fake news|nonsense)", "(that's|that is|this is|which is|is) (simply|completely|totally|just|) (untrue|a lie|lies|false|fake news)",
		"good luck with that", "thoughts and prayers",
		"^try being|asking (polite|politely|nice|nicely|civil|courteous|respectful|kind)", "(being|asking) (polite|politely|nice|nicely|civil|courteous) (would|might|will|goes|costs|helps)",
		"manners cost nothing", "(a little|some) (courtesy|respect|manners|politeness) (would|goes|might|costs)", "(get|got|have gotten|receive) a better response|reply|answer if",
		"in (all|) (caps|capitals|capital letters|block capitals|uppercase)", "typing|writing|tweeting|shouting (in caps|in capitals|at us)",
		"(won't|will not|doesn't|does not|isn't going to|is not going to) (make|get) (it|things|the|your|this|that|anything) (any|) faster|quicker|sooner",
		"(explained|told you|answered|said) (this|that|it) (to you|) (several|multiple|many|numerous|countless|a few|so many|two|three|four|five|six|ten) times",
		"(we|i) (don't|do not|won't|will not) (respond|reply|react|give in|bow|negotiate) to (threats|blackmail|abuse|demands|bullying|ultimatums)", "your threats|threat|ultimatum",
		"ridiculous|absurd|laughable|preposterous|outrageous|unhinged demand|demands|request|requests|complaint|complaints|claim|claims|question|questions|expectation|expectations|accusation|accusations|comment|comments|tweet|tweets|suggestion|idea",
	}},
	{cueHostile, "it threatens the customer", []string{
		"(we'll|we will|we are going to|we're going to|we may|we might) block|ban|report|sue|mute (you|your account)", "(you'll|you will) be blocked|banned|reported|muted",
		"(we have|we've) reported you|your account", "legal action against you", "see you in court", "our lawyers will",
	}},
	{cueDismissive, "it minimises the complaint", []string{
		"a bit|little harsh|much|dramatic|extreme|excessive", "a bit over the top", "bit harsh|much|dramatic", "(that's|thats|that is) harsh", "so dramatic", "being dramatic",
		"overreacting", "over-reacting", "over reacting", "exaggerating", "exaggeration", "out of proportion", "over the top",
		"(not a|such a|no) big deal", "not that big (a|of a) deal", "not the end of the world", "first world problem|problems",
		"^(it|these things|things|stuff|shit) happens|happen", "^delays|accidents|mistakes|glitches|errors|outages|cancellations|breakdowns|problems|issues|queues happen",
		"(not sure|no idea) what you expected", "what you expected from", "sure because", "because (that's|that is) definitely|totally|obviously|clearly our fault", "it is what it is", "could (be|have been) worse", "worse things happen", "(you'll|you will) survive|live",
		"not the only one", "like everyone|everybody else", "everyone|everybody else has|is|manages|managed|had|seems|waits|waited|copes|coped",
		"(no one|nobody|noone) else has|is|seems|complained|had|complains", "other customers (don't|do not|manage|managed|seem|haven't|have not|are fine)",
		"we (can't|cannot) please everyone", "can't please everyone",
		"part and parcel", "comes with the territory", "part of life|travelling|traveling|flying|travel", "part of modern life", "these things take time", "that's|thats life", "such is life",
		"(that's|thats|it's|its|that is|it is) (just|simply) how (it|the system|things|this|the process|our system) works|work|is|are|goes",
	}},
	{cueDismissive, "it brushes the complaint off", []string{
		"sorry|apologies (you|that you|if you) feel|felt|think|thought (that|this|so|)", "sorry (you|that you|if you) feel|felt (that|this) way",
		"sorry if you (were|are|feel|felt) offended|upset|hurt|bothered", "sorry (you're|you are|you were) offended|upset", "sorry if that|this offended|upset|bothered you", "sorry if you took it",
		"be fair to everyone|everybody|all", "treat everyone|everybody the same", "same rules apply", "(apologise|apologize) (that you|if you) feel|felt|think|thought",
		"rules are rules", "policy is policy", "(that's|thats|that is|it's|its) (just|) (our|the) policy|rule|rules", "we " + dont + " make the rules",
		"take it or leave it", "if you " + dont + " like it", "take your business elsewhere", "go elsewhere",
		"feel free to (go elsewhere|shop elsewhere|take your business|switch|use another|use a competitor)", "(you're|you are) free to go|leave|shop|switch|take|use",
		"(nobody|no one|noone) (is forcing|forced) you", "nobody's|noone's forcing you", "you get what you pay for", "what (did|do) you expect", "what were you expecting",
		"we'll get to you when", "when we get round|around to it", "(we'll|we will) get round|around to it",
		"as|like we|i (said|stated|have already said|already said|already stated|already explained|already told you|have already explained|have already told you)",
		"as|like we've|i've already said|stated|explained|told|mentioned",
		"(we|i) already told|explained|answered|said", "(we've|i've|we have|i have) already told|explained|answered", "as (previously|already) stated|explained|said|advised|mentioned",
		"for the second|third|fourth|fifth|last|hundredth|umpteenth|nth|final time",
		"whatever", "oh well", "oh please|really|sure", "yeah|yea right|sure", "as if", "good luck with that", "nice try", "cool story", "if you say so",
		"sorry not sorry", "not sorry", "🤷", "😏", "sigh",
	}},
	{cueDismissive, "it talks down to the customer", []string{
		"not rocket science", "not that hard|difficult|complicated", "not hard to", "really not that hard|difficult", "(it's|its|it is) (quite|really|very) simple really",
		"any child|idiot could", "even a child", "anyone can see", "as anyone can see|knows", "as anyone would know", "as you can clearly see",
		"as (you'd|you would|you should|you well) know", "with (all|) due respect", "no offence|offense", "(if you'd|if you had|if you would) read",
		"did|do you even|actually|seriously|honestly read|know|understand|listen|check|look|try", "did you not read|see|check|bother|think", "did you not even", "do you not think", "did|do you even bother",
		youSubj + " should really|honestly|seriously|actually|probably have", youSubj + " should really|honestly|seriously|actually learn|read|try|use|check|think|know|stop|consider",
		"^wow you", "a whole few|two|three|five|ten|fifteen|twenty|thirty minutes|hours|days|minute|hour|day", "a whole ten|five|two|three|twenty|few minutes|hours|days",
		"^be nice|polite|civil|respectful|reasonable", "^play nice", "^get your facts straight", "^do your research|homework", "can't|cannot you read|see|understand",
		"can you not read|see|understand", "do you not understand|realise|realize|know", "don't|dont you understand|know|see", "don't|dont you get it",
		"why would you think|expect|assume", "why would you (do that|say that)", "what do you expect", "what do you want (us|from us|me)", "(what's|whats|what is) your problem|issue",
		"what are you on", "what are you (talking|going on) about", "are you serious|kidding|joking|done|listening", "are you (for real|even listening)",
	}},
	{cueSympathy, "", []string{
		"sorry", "apologise", "apologize", "apologies", "apology", "apologised", "apologized", "apologises", "apologizes", "apologizing", "apologising",
		"regret", "regrets", "unfortunately", "unfortunate", "sadly", "afraid", "disappointing", "disappointed", "disappoint", "frustrating", "frustration",
		"frustrated", "inconvenience", "inconvenienced", "upsetting", "bad experience", "not the experience", "not what we want|expect",
		"let you down", "fell short", "wish we could|had",
	}},
	{cueConcern, "", []string{
		"not ideal", "hear that|this|about", "understand", "understandable", "we hear you", "sympathise", "sympathize", "empathise", "empathize",
		"feel for you", "(thanks|thank you) for letting us know", "(doesn't|does not) sound good|right", "not good", "oh no", "yikes",
		"bummer", "shame", "too bad",
	}},
	// Acknowledging feedback commits to nothing: with no step after it, a
	// complaint is not answered ("Thanks for the feedback!", "Noted.").
	{cueConcern, "", []string{
		"(thanks|thank you|thx|ty|cheers) for (the|your|all your|all the) feedback|input|comments|comment|thoughts|opinion|opinions|views|remarks",
		"(we|i) (appreciate|value|welcome) (the|your|all|all your) feedback|input|comments|comment|thoughts|opinion|opinions|views|remarks", "appreciate|value you sharing|voicing|raising",
		"noted", "duly noted", "point taken", "(we|i) take (all|your|every|customer|any) (feedback|comments|complaints|concerns) (very|) seriously",
		"(we|i) (can|do) see why (you|u) (might|would|may|could) (think|feel|say|believe)", "(we|i) value (all|every|each of|) (our|) customers|feedback",
		// The problem called normal: an answer only with a step after it.
		"happens (from time to time|occasionally|sometimes|now and then|now and again|to everyone|to everybody|to the best of us)",
		"(perfectly|completely|totally|quite|fairly|pretty|entirely) (normal|common|usual|standard|expected)", "not (unusual|uncommon|abnormal)", "expected behaviour|behavior",
		"working as (intended|designed|expected)", "(some|other|many|plenty of|lots of) customers|people|passengers|users (do|also|sometimes|occasionally|often|) (experience|have|get|see|face|report|find) (this|that|the same|it|similar)", "feedback (is|has been|was) noted|received|heard", "(we've|we have|i've|i have) noted (this|that|it|your)",
	}},
	{cueConcern, "", []string{
		"(don't|never) want|like you to feel", "hate to hear|see", "sorry to see", "never want|like to hear|disappoint", "feel this|that way",
	}},
	{cuePositive, "", []string{
		"glad", "great", "awesome", "love", "loved", "loving", "enjoy", "enjoyed", "happy", "welcome", "pleasure", "amazing", "brilliant", "fantastic",
		"wonderful", "thrilled", "delighted", "congrats", "congratulations", "yay", "woohoo", "excellent", "perfect", "cheers", "kind words", "shout-out",
		"shoutout", "❤", "❤️", "😊", "😀", "🎉", "👍", "🙌", "😍",
	}},
	{cueDeadEnd, "", []string{
		"nothing we|i can do", "(nothing|no|not much|little) more|else|further we|i can", "(there's|there is) nothing we|i can", "out of our hands",
		"(beyond|outside|outside of) our control", "not something we|i can", "(can't|cannot|can not) help", "(unable|not able) to help|assist|offer", "(unable|not able) to do anything",
		"can't|cannot assist", "can't|cannot do anything", "no way (to|for us)", "not possible", "(won't|will not) be possible", "not in a position to",
		"(can't|cannot|could not|couldn't) offer", "(won't|will not) be able to",
		"(don't|do not|doesn't|does not) deal with|handle|cover (that|this|those|these|it)", "not something (we|i) deal with|handle|cover", "(isn't|is not|aren't|are not|wasn't|was not) possible",
		"(have|has) no control|say|influence|power over", "(this|the|that|our|my) decision is final|stands", "(can't|cannot|won't|will not) be (changed|overturned|reversed|undone|refunded|cancelled|canceled)",
		"(isn't|is not|there's not|there isn't) anything (more|else|further|) (we|i) can", "no exceptions", "(we|i) (don't|do not|can't|cannot) make exceptions", dont + " have (any|) information|control|access|update|updates",
	}},
	{cueStep, "", []string{
		// The brand acts, offers or promises.
		"we'll", "i'll", "we will", "i will", "(we'd|i'd|we would|i would) (love|like|be happy|be glad|be more than happy|be delighted)",
		"we|i can|could|may|shall", "(we're|we are|i'm|i am) (going to|working|looking|checking|investigating|sending|arranging|on it|here to help|here for you|happy to|glad to|keen to|reaching|contacting|reviewing|chasing|following|getting|doing|trying|escalating|raising|passing|sharing|fixing|monitoring|updating|processing|refunding|rebooking|replacing|reissuing|issuing|taking care|now following)",
		"let us", "let me", "allow me|us", "our team|engineers|agents|specialists|staff|crew|colleagues|folks|technicians|managers|teams will|is|are|have|has|can",
		"someone|somebody will|from", "a member of", "will be", "will have", "be in touch", "get back to you", "follow up", "follow up with", "follow-up", "keep you posted|updated|informed",
		"update you", "look into", "looking into", "looked into", "take a look", "have a look", "look at", "investigate", "investigating", "escalate", "escalated",
		"passed|shared|forwarded|fed|raised|logged|flagged|reported this|it|your|them|on|along|back", "pass this|it|your|them|on|along", "feed this|it back", "get you",
		"refund", "refunded", "reimburse", "reimbursed", "compensation", "compensate", "voucher", "vouchers", "credit", "credited", "replacement", "rebook", "rebooked",
		"reschedule", "rescheduled", "arrange", "arranged", "fixed", "resolved", "sorted", "sort this|it|that out", "make it|this|things right", "make amends", "put it|this|things right",
		"happy to help|assist", "glad to help|assist", "here to help", "help you", "help with", "assist you", "assist with", "assist further", "further assistance",
		"on its|their|the way", "as soon as", "asap", "shortly", "within", "tomorrow", "later today", "soon", "working on", "work on", "working hard", "do our best", "doing our best",
		// The customer is shown a way.
		"let us|me know", "keep us posted|updated", "get in touch", "reach out", "reach back out", "reach us", "contact us|our|the", "give us a call|ring|shout|buzz",
		"drop|pop|shoot|send|tweet|message|email|ring|call us", "chat with|to us", "speak to|with", "talk to|with", "visit our|the|us|your", "head to|over", "go to", "check out",
		"feel free", dont + " hesitate", "you can|could|may|might", "(you'll|you will|you'd|you would) (need|want|be able|receive|get|see|find|have)",
		"you (need to|will need to|just need to|have to|must)", youSubj + " should (be able|receive|get|see|now|have received|have got|have an|have a)", "if you need|have|want|would|still|require|experience|continue|notice|see|can|do|are|prefer|like",
		"(if you're|if you'd|if there's|if there is|if anything)", "here's", "here is", "here are", "the steps", "these steps", "link", "below", "attached", "this article|page|guide",
		"our website|site|app|page|faq|faqs|community", "our (help centre|help center)", "hope this|that helps", "available at|on|from|in|via|here", "can be found|done|booked|requested|changed|made",
		"expected to", "estimated", "scheduled to|for", "set to depart|arrive|leave", "due to arrive|depart|leave|be", "encourage you", "recommend", "suggest", "advise", "please advise",
		"looking at|for", "working to|with", "in the post|mail", "dispatched", "shipped", "posted", "by monday|tuesday|wednesday|thursday|friday|saturday|sunday|tonight|tomorrow|noon|midday|lunchtime",
		"stay tuned", "watch this space", "keep an eye", "available now|today|again|online|for", "(may|can|could) we have|get|ask|take|see",
		"to forward|pass|share|escalate|check|help|assist|investigate|resolve|fix", "(must|needs to|need to|has to|should|can) be done|made|booked|requested|submitted|reported|collected|checked|assessed|raised|claimed",
		"more details|information|info", "the details", "your details", "details of|about", "please confirm", "can confirm", "to confirm",
		// A request put as a question without its mark, an instruction
		// inside a sentence, a state the brand brought about.
		"(could|can|would|will) you (please|kindly|just|)", "once you", "make sure", "confirmed", "reinstated", "reversed",
		// A problem reported solved, and people on the brand's side at work
		// on it ("the station team are bringing buses").
		"restored", "repaired", "reconnected", "reactivated", "re-enabled", "unblocked", "unlocked", "waived", "approved", "reopened", "resumed", "resuming",
		"back online", "back to normal", "up and running", "working again", "full speed", "all set", "good to go", "(back|now back) up|on",
		// Only words a powerless explanation does not use too: "your claim
		// was processed and declined", "all our systems are working fine,
		// so the fault is yours" are no way forward.
		"cleared", "(now|been) replaced", "(is|are|'s|now|been) booked",
		"repair|repairs|work|works|fix|installation|upgrade|engineer|technician (was|is|has been|have been|were|are) (now|) completed|done|finished",
		"outage|outages|disruption|issue|issues|problem|problems|fault|faults|maintenance|incident|error|errors (is|are|has|have|was|were) (now|) (over|ended|finished|gone)",
		"team|teams|staff|crew|engineers|engineer|technicians|technician|agents|colleagues|specialists|drivers (are|is|will|have|has|'re) (now|currently|already|) working|bringing|sending|arranging|checking|looking|fixing|repairing|investigating|preparing|adding|running|putting|moving|rebooking|contacting|calling|on|en",
	}},
	{cueMovesPrivate, "", []string{
		"dm", "dms", "dm'd", "dmd", "dmed", "dm'ed", "direct message", "direct messages", "directmessage", "private message", "private messages", "pm", "pm'd", "pmed",
		"inbox", "private chat", "privately", "in private",
	}},
	{cuePrivateRef, "it repeats in public what was said in private", []string{
		"your " + privateMsgs + " said|says|mentioned|stated", "(as per|per) (our|your|the) " + privateMsgs, "you told us (privately|in private)", "privately you", "in private you",
	}},
	// A private channel named after a reporting word ("as discussed in DM",
	// "you mentioned in your email") is a private-ref; reply.go pairs them.
	{cuePrivateChannel, "", []string{"(in|via|over|by|on) (our|your|the|a|) " + privateMsgs}},
	{cueReported, "", []string{"said", "mentioned", "explained", "discussed", "wrote", "stated", "confirmed", "told", "shared", "agreed", "advised", "promised", "asked"}},
	// "We've logged it", "it has been passed on": the brand reports an
	// action done, unless the word after is a state ("we've had", "has
	// been delayed"); reply.go checks that word.
	{cuePerfect, "", []string{"we've", "i've", "we have", "i have", "has been", "have been", "we've now", "it's been", "has", "have"}},
	{cueNotAction, "", []string{
		"had", "been", "seen", "heard", "noticed", "noted", "received", "got", "gotten", "always", "never", "experienced", "experiencing", "delayed",
		"cancelled", "canceled", "affected", "impacted", "disrupted", "postponed", "suspended", "discontinued", "closed", "no", "not", "sadly",
		"unfortunately", "to", "a", "an", "the", "some", "many", "lots", "any", "been", "found", "missed", "lost", "changed", "made",
		"your", "my", "our", "his", "her", "their", "this", "that", "so", "very", "really", "quite", "such", "more", "less", "you",
		"caused", "happened", "occurred", "failed", "expired", "ended", "disappointed", "frustrated", "upset", "annoyed", "inconvenienced", "experienced",
	}},
	{cueNegator, "", []string{
		"not", "never", "can't", "cant", "cannot", "couldn't", "won't", "wouldn't", "don't", "dont", "doesn't", "didn't", "unable", "isn't", "aren't", "wasn't",
		"weren't", "without", "nothing", "no longer", "hardly",
	}},
	{cueSoftener, "", []string{
		"hi", "hey", "hello", "hiya", "howdy", "greetings", "dear", "please", "pls", "plz", "kindly", "just", "so", "now", "ok", "okay", "look", "listen",
		"honestly", "seriously", "sir", "madam", "mate", "guys", "folks", "then", "maybe", "simply", "also", "and", "but", "oh", "well", "frankly", "again",
		"good", "morning", "afternoon", "evening", "there", "all", "everyone", "friend", "yes", "no", "yeah",
	}},
	{cueFirstPerson, "", []string{"we", "i", "we're", "we've", "we'll", "we'd", "i'm", "i've", "i'll", "i'd", "our team"}},
	{cueSecondPerson, "", []string{"you", "u", "you're", "you've", "you'll", "you'd", "your", "yours", "yourself"}},
	// Words that make a number or address nearby the brand's own: "call
	// us on", "our helpline". Verbs alone ("we'll call", "text") do not:
	// the brand calls the customer's number too.
	{cueContact, "", []string{
		"us", "our", "helpline", "hotline", "freephone", "toll-free", "support", "team", "store", "branch", "office", "station", "desk", "centre", "center",
	}},
	// A modal is an offer or promise when a verb, not a negation, follows:
	// "a specialist will reply", "reception can move you"; reply.go checks.
	{cueModal, "", []string{"will", "can", "shall"}},
	// After a modal or offer these make a report or a wish, not a step:
	// "as far as I can see", "we'd like to apologise", "I hope you will".
	{cueNotStep, "", []string{"see", "tell", "imagine", "understand", "appreciate", "only", "assure", "apologise", "apologize", "say", "hope", "wish", "express", "offer", "sympathise", "sympathize"}},
	{cueWish, "", []string{"hope", "hoping", "hopefully", "wish", "trust"}},
	{cueBy, "", []string{"by", "before", "from"}},
	{cueStreet, "", []string{
		"street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "dr", "boulevard", "blvd", "court", "ct", "way", "close", "crescent",
		"place", "pl", "terrace", "square", "sq", "gardens", "grove", "parkway", "pkwy", "highway", "hwy", "row", "mews",
	}},
	{cueOwner, "", []string{"your", "you", "you're", "yours", "ur", "customer's", "his", "her", "their"}},
	{cueParticiple, "", []string{
		"sent", "given", "taken", "brought", "spoken", "written", "put", "set", "paid", "told", "kept", "built", "won", "chosen", "begun", "run",
		"rung", "shown", "thrown", "done", "dealt", "lent", "spent", "upgraded", "re-sent", "resent", "rebuilt", "withdrawn", "undone",
	}},
	{cueHealth, "", []string{
		"epilepsy", "epileptic", "seizure", "seizures", "diabetes", "diabetic", "cancer", "chemo", "chemotherapy", "pregnancy", "pregnant", "miscarriage",
		"hiv", "depression", "anxiety disorder", "asthma", "asthmatic", "autism", "autistic", "adhd", "dementia", "alzheimer's", "disability", "disabilities",
		"medical condition", "medical conditions", "health condition", "diagnosis", "diagnosed", "medication", "medications", "prescription", "allergy",
		"allergies", "heart condition", "mental health", "surgery", "illness", "dialysis", "insulin", "crohn's", "ibs",
	}},
	{cueCredential, "", []string{"pin", "password", "passcode", "passcodes", "passwords", "pins", "otp", "security code", "verification code", "one-time code", "login code", "access code", "unlock code", "puk"}},
	{cueBirth, "", []string{"birth", "dob", "d.o.b", "born", "birthday"}},
	{cueContrast, "", []string{"but", "however", "though", "although", "instead", "alternatively", "otherwise", "meanwhile"}},
	{cueRefWord, "", []string{
		"booking", "bookings", "order", "orders", "account", "acct", "acc", "confirmation", "reservation", "reference", "ref", "pnr", "locator", "membership",
		"member", "card", "policy", "passport", "loyalty", "tracking", "invoice", "claim", "ticket", "e-ticket", "record", "customer", "number", "no",
	}},
}

// stepVerbs start an instruction to the customer when they open a clause
// ("Try restarting", "Head to Settings"). Orders about behaviour are hostile
// cues instead, and win when both match.
var stepVerbs = []string{
	"try", "check", "visit", "go", "head", "tap", "click", "select", "choose", "restart", "reboot", "reset", "update", "reinstall", "install",
	"uninstall", "download", "contact", "call", "ring", "phone", "email", "e-mail", "message", "text", "dm", "reach", "send", "share", "provide",
	"let", "follow", "pop", "drop", "give", "make", "use", "open", "close", "turn", "switch", "sign", "log", "see", "refer", "ask", "speak", "talk",
	"chat", "fill", "complete", "submit", "keep", "hold", "bring", "return", "report", "tweet", "reply", "respond", "confirm", "include", "attach",
	"upload", "mention", "review", "look", "find", "search", "enter", "add", "remove", "delete", "disable", "enable", "change", "clear", "power",
	"unplug", "plug", "hit", "press", "swipe", "navigate", "scroll", "pick", "collect", "apply", "register", "book", "rebook", "cancel", "request",
	"claim", "print", "show", "come", "stop by", "feel", "be sure", "make sure", "remember", "note", "expect", "allow", "wait", "log", "verify",
	"double-check", "contact", "visit", "sync", "toggle", "uninstall", "re-download", "re-install", "re-add", "forward", "screenshot", "tell",
	"keep", "leave", "consider", "schedule", "stop", "pop", "shoot", "hop", "jump", "take", "proceed", "stay", "put", "top", "save", "bring",
}
