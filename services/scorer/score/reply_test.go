package score

import (
	"slices"
	"testing"
)

func TestCheckReplyFindings(t *testing.T) {
	s := newHybridScorer(t)
	complaint := ReplyContext{MentionText: "@brand third time asking, my bag is still lost", Complaint: true, PublicReply: true}
	good := "We're sorry your bag is still missing. Please DM us your file number and we'll chase it today."
	tests := []struct {
		name     string
		draft    string
		ctx      ReplyContext
		want     string // finding code that must appear, "" for none at all
		wantSpan string // text the finding's span must cover, if any
	}{
		{"good reply passes", "We're sorry your bag is still missing. We'll chase it today and reply here.", complaint, "", ""},
		{"calm down is hostile", "Please calm down, we'll look into it. Sorry for the trouble.", complaint, FindingHostileTone, "calm down"},
		{"a bit harsh is dismissive", "Sorry, but that's a bit harsh. We'll DM you.", complaint, FindingDismissiveTone, "a bit harsh"},
		{"profanity is hostile", "Sorry, we'll DM you, you fucking idiot", complaint, FindingHostileTone, ""},
		{"DM us moves the conversation private", "Please DM us your file number and we'll chase it.", complaint, FindingMovesPrivate, "DM"},
		{"sorry with no next step", "Sorry you had a bad experience.", complaint, FindingNoNextStep, ""},
		{"booking reference in public", "Sorry! We'll rebook you on booking ABC123 now.", complaint, FindingPersonalData, "ABC123"},
		{"phone number in public", "Sorry! We'll call you back on +44 7700 900123 within the hour.", complaint, FindingPersonalData, "+44 7700 900123"},
		{"the brand's own number is a next step", "Sorry! Call us on +1 800 555 0199 and we'll fix it.", complaint, "", ""},
		{"email in public", "Sorry! We'll email jane.doe@example.com with the refund.", complaint, FindingPersonalData, "jane.doe@example.com"},
		{"going public from a private thread", good, ReplyContext{Complaint: true, PrivateThread: true, PublicReply: true}, FindingGoingPublic, ""},
		{"a consequence blamed on the customer", "Had you checked in on time you wouldn't be in this situation.", complaint, FindingHostileTone, ""},
		{"refusing to engage is hostile", "We won't be entertaining any more of these tweets.", complaint, FindingHostileTone, ""},
		{"mocking the request is hostile", "That's a laughable request, sorry.", complaint, FindingHostileTone, "laughable request"},
		{"the customer's manner criticised", "Your tantrum on the phone helped nobody.", complaint, FindingHostileTone, "Your tantrum"},
		{"thanks for feedback alone is no answer", "Thank you for your thoughts.", complaint, FindingNoNextStep, ""},
		{"thanks for feedback with a step passes", "Thank you for your thoughts, we've passed them to our menu team.", complaint, "", ""},
		{"a step inside a dead end is none", "Sorry, there's no way for us to refund that ticket.", complaint, FindingNoNextStep, ""},
		{"a way round a dead end after but", "Sorry, there's nothing we can do about the fare but we can rebook you for free.", complaint, "", ""},
		{"accusing the customer of lying is hostile", "Please stop posting misinformation about our prices.", complaint, FindingHostileTone, ""},
		{"a lecture on manners is hostile", "Manners cost nothing, we'll reply when we can.", complaint, FindingHostileTone, "Manners cost nothing"},
		{"a final decision is no answer", "We understand. Sadly the decision is final.", complaint, FindingNoNextStep, ""},
		{"calling the problem normal is no answer alone", "That's completely normal for this model.", complaint, FindingNoNextStep, ""},
		{"calling the problem normal with a step passes", "That's completely normal for this model; a reset under Settings will clear it.", complaint, "", ""},
		{"the customer's health in public", "Sorry! We've told the crew about your pregnancy and moved you to row 3.", complaint, FindingPersonalData, "pregnancy"},
		{"health that is nobody's passes", "Sorry! Seats in row 3 are kept for passengers with a disability; we'll refund yours.", complaint, "", ""},
		{"saying what was sent is not blame", "Sorry, we did email you the new times yesterday; we'll resend them now.", complaint, "", ""},
		{"an apology idiom is not an insult", "You really have no idea how sorry we are. We'll refund you today.", complaint, "", ""},
		{"a phone number in a question", "Sorry! Is 07700 900312 still the best number to reach you on?", complaint, FindingPersonalData, "07700 900312"},
		{"a PIN in public", "Sorry! The new PIN for your card is 5821, we'll post the card today.", complaint, FindingPersonalData, "5821"},
		{"a PIN without the code passes", "Sorry! We'll post a new PIN to your home address today.", complaint, "", ""},
		{"date of birth in public", "Sorry! The date of birth we hold is 1990-07-23, we'll correct it.", complaint, FindingPersonalData, "1990-07-23"},
		{"a date that is not a birth date", "Sorry! Your refund was sent on 2026-07-23, we'll chase it.", complaint, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.CheckReply(tc.draft, tc.ctx).Findings
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("CheckReply(%q) = %+v, want no findings", tc.draft, got)
				}
				return
			}
			i := slices.IndexFunc(got, func(f Finding) bool { return f.Code == tc.want })
			if i < 0 {
				t.Fatalf("CheckReply(%q) = %+v, want a %s finding", tc.draft, got, tc.want)
			}
			f := got[i]
			if f.Start < 0 || f.End > len(tc.draft) || f.Start >= f.End || f.Message == "" {
				t.Errorf("finding %+v has a bad span or no message", f)
			}
			if tc.wantSpan != "" && tc.draft[f.Start:f.End] != tc.wantSpan {
				t.Errorf("finding span %q, want %q", tc.draft[f.Start:f.End], tc.wantSpan)
			}
		})
	}
}

// A way forward is read in the reply's own words; one the check cannot
// read (another language) is not said to have none.
func TestNoWayForward(t *testing.T) {
	s := newLexiconScorer(t)
	for draft, want := range map[string]bool{
		"That is an interesting theory.":                  true,
		"Well, rules apply to everybody equally.":         true,
		"Sorry! We'll refund it today.":                   false,
		"We've sent a replacement to the store.":          false,
		"Could you tell us which store it was?":           false,
		"Please DM us and we'll sort it.":                 false,
		"Could you please restart the app and try again":  false,
		"Hi Eric, the booking is confirmed.":              false,
		"Your line is working again, sorry for the wait.": false,
		"Sorry! The depot crew are sending a new driver.": false,
		"Sorry, service isn't restored yet.":              true,
		"Sorry, our site is down for the moment 1/2":      false,
		"Te hemos enviado un mensaje privado, gracias.":   false,
	} {
		if got := s.CheckReply(draft, ReplyContext{PublicReply: true}).NoWayForward; got != want {
			t.Errorf("CheckReply(%q).NoWayForward = %v, want %v", draft, got, want)
		}
	}
}

// Good replies that share words with bad ones are not flagged.
func TestGoodRepliesSharingWordsWithBadOnesPass(t *testing.T) {
	s := newLexiconScorer(t)
	for _, draft := range []string{
		"We won't discuss this in public: please DM us your order number.",
		"We did email the new times, sorry they didn't reach you. We'll text them to you now.",
		"Sorry we took so long. We appreciate your patience and have refunded the fee.",
	} {
		if c := s.CheckReply(draft, ReplyContext{PublicReply: true}); c.Flagged() {
			t.Errorf("CheckReply(%q) flagged: %+v", draft, c.Findings)
		}
	}
}

// A reply that reports the problem solved is an answer: it is neither
// flagged nor without a way forward.
func TestRepliesReportingTheProblemSolvedAnswer(t *testing.T) {
	s := newLexiconScorer(t)
	for _, draft := range []string{
		"Sorry Dan, the fault is now cleared and your broadband is back.",
		"Hi Dan, the outage is over and all lines are working.",
		"Hi Dan, thanks for your patience. The issue was a faulty exchange card, now replaced.",
		"Sorry for the trouble, Dan. Your broadband is running at full speed again.",
		"Hi Dan, your engineer appointment is booked for Thursday morning.",
		"Sorry Dan! Your line is back up now.",
		"Apologies, Dan. The repair was completed at 2pm today.",
		"Hi Dan, really sorry. Your connection was restored this morning.",
	} {
		if c := s.CheckReply(draft, ReplyContext{PublicReply: true}); c.Flagged() || c.NoWayForward {
			t.Errorf("CheckReply(%q): flagged %v, no way forward %v: %+v", draft, c.Flagged(), c.NoWayForward, c.Findings)
		}
	}
}

// Words of a solved problem in a powerless explanation do not make it
// an answer.
func TestPowerlessRepliesWithWordsOfASolvedProblemAreFlagged(t *testing.T) {
	s := newLexiconScorer(t)
	for _, draft := range []string{
		"Unfortunately your claim was processed and declined.",
		"We're sorry, but the offer was replaced by a new one and can't be honoured.",
		"Apologies, the order was completed as requested so we can't change it.",
		"Sorry, all our systems are working fine, so the fault must be on your side.",
	} {
		if c := s.CheckReply(draft, ReplyContext{PublicReply: true}); !c.Flagged() {
			t.Errorf("CheckReply(%q) not flagged (no way forward: %v)", draft, c.NoWayForward)
		}
	}
}

func TestPersonalDataOnlyMattersInPublic(t *testing.T) {
	s := newLexiconScorer(t)
	got := s.CheckReply("Sorry! Your booking ABC123 is rebooked, we'll call +1 800 555 0199.", ReplyContext{Complaint: true}).Findings
	if slices.ContainsFunc(got, func(f Finding) bool { return f.Code == FindingPersonalData }) {
		t.Errorf("private reply flagged for personal data: %+v", got)
	}
}
