package score

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// brandReplies are typical brand replies, about 120 bytes, of the kinds the
// live flow checks: hand-offs, fixes, questions, a powerless one, a rude one.
var brandReplies = []string{
	"@115718 Sorry for the wait! Please DM us your order number and we'll chase the courier for you today. ^JB",
	"@115890 We're sorry your flight was delayed. The crew is on the way and boarding starts at 6:40pm, gate B12.",
	"@116021 That doesn't sound right. Which version of the app are you on, and does it crash on Wi-Fi and mobile data?",
	"@116433 We're really sorry to hear about your visit today. That isn't the experience we want for anyone.",
	"@117002 Honestly, that's a bit much. Plenty of people waited longer, so calm down and wait like everyone else.",
}

// BenchmarkLiveScoreBrandReply is the scorer's work on a brand reply before
// the reply check: the baseline of BenchmarkLiveScoreAndCheckBrandReply.
func BenchmarkLiveScoreBrandReply(b *testing.B) {
	s := newHybridScorer(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.Score(brandReplies[n%len(brandReplies)])
		n++
	}
}

// BenchmarkLiveScoreAndCheckBrandReply is the live flow's work on a brand
// reply: the score and the reply check in one call.
func BenchmarkLiveScoreAndCheckBrandReply(b *testing.B) {
	s := newHybridScorer(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.ScoreReply(brandReplies[n%len(brandReplies)], ReplyContext{PublicReply: true})
		n++
	}
}

// BenchmarkReplyCheckOverhead measures scoring a brand reply and checking
// it in turns, on one locked thread, and reports what the check adds to
// scoring it, in percent (the budget is 20). It counts the thread's CPU
// time where the system gives it (Linux), so that other processes on a
// busy machine do not skew the ratio; elsewhere it counts wall time.
func BenchmarkReplyCheckOverhead(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := newHybridScorer(b)
	var scoring, checking time.Duration
	n := 0
	for b.Loop() {
		text := brandReplies[n%len(brandReplies)]
		n++
		t0 := threadTime()
		for range 32 {
			s.Score(text)
		}
		t1 := threadTime()
		for range 32 {
			s.reply.check(text, ReplyContext{PublicReply: true}, 0)
		}
		t2 := threadTime()
		scoring += t1 - t0
		checking += t2 - t1
	}
	b.ReportMetric(100*float64(checking)/float64(scoring), "overhead-%")
	b.ReportMetric(float64(scoring.Nanoseconds())/float64(32*n), "score-ns/reply")
	b.ReportMetric(float64(checking.Nanoseconds())/float64(32*n), "check-ns/reply")
}

// BenchmarkCheckReplyLength checks drafts of growing length; ns/byte stays
// flat because the check is linear.
func BenchmarkCheckReplyLength(b *testing.B) {
	s := newLexiconScorer(b)
	unit := brandReplies[4] + " " + brandReplies[0] + " "
	for _, n := range []int{1, 10, 100} {
		draft := strings.Repeat(unit, n)
		b.Run(fmt.Sprint(len(draft), "B"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.CheckReply(draft, ReplyContext{PublicReply: true})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(draft)), "ns/byte")
		})
	}
}
