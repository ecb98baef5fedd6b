package notifier

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/slack"
)

// clickTTL is how long a click's response_url is kept: Slack honours it
// for 30 minutes.
const clickTTL = 30 * time.Minute

// pendingClick is a Slack click waiting for escalation to apply it: the
// message it came from is replaced through the response_url.
type pendingClick struct {
	ResponseURL string `json:"response_url"`
	Channel     string `json:"channel"`
	TS          string `json:"ts"`
}

func (s *Service) clickKey(caseID string) string { return s.d.Keys.Global("slack", "click", caseID) }

// rememberClick keeps the click's response_url until the case event it
// causes arrives.
func (s *Service) rememberClick(ctx context.Context, k slack.Click) error {
	b, err := json.Marshal(pendingClick{ResponseURL: k.ResponseURL, Channel: k.Channel, TS: k.MessageTS})
	if err != nil {
		return err
	}
	if err := s.d.Redis.Set(ctx, s.clickKey(k.Ref.ID), b, clickTTL).Err(); err != nil {
		return fmt.Errorf("keep the click's response_url: %w", err)
	}
	return nil
}

// slackBots are the Slack receivers with a bot token, whose messages
// chat.update can rewrite.
func slackBots(receivers map[string]*slack.Notifier) map[string]*slack.Notifier {
	out := map[string]*slack.Notifier{}
	for name, n := range receivers {
		if n.CanUpdate() {
			out[name] = n
		}
	}
	return out
}

// slackHosts are the hosts a click's response_url may name: Slack's, and
// those of the configured Web APIs (a test's fake Slack).
func (s *Service) slackHosts() []string {
	hosts := []string{"hooks.slack.com"}
	for _, n := range s.slackBots {
		if u, err := url.Parse(n.APIURL()); err == nil && u.Host != "" && u.Host != "slack.com" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}

// updateSlack rewrites the case's Slack messages once someone acknowledged,
// snoozed or resolved it, from wherever (console, CLI, PagerDuty, Slack),
// so the channel sees who took it: the clicked message through its
// response_url when the action came from a Slack click, and every message a
// bot posted about the case through chat.update. Messages posted through
// an incoming webhook, or grouped, stay as they are. It is best effort: a
// failure is logged, and the pages themselves are not held up.
func (s *Service) updateSlack(ctx context.Context, ev *fbv1.CaseEvent) {
	switch ev.Type {
	case fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED,
		fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED, fbv1.CaseEventType_CASE_EVENT_TYPE_UNSNOOZED:
	default:
		return
	}
	if len(s.slackBots) == 0 && s.cfg.SlackSigningSecretFile == "" {
		return // no Slack message can be updated: no bot, no clicks
	}
	caseID := ev.Case.GetId()
	log := s.d.Tel.Logger
	if latest, err := s.latestShown(ctx, ev); err != nil || !latest {
		if err != nil {
			log.WarnContext(ctx, "Slack messages not updated", "case", caseID, "err", err)
		}
		return
	}
	msg := slack.Taken(ev, s.linkBase)
	var clicked string
	raw, err := s.d.Redis.GetDel(ctx, s.clickKey(caseID)).Bytes()
	switch {
	case err == nil:
		var p pendingClick
		if json.Unmarshal(raw, &p) == nil && p.ResponseURL != "" {
			clicked = p.Channel + "/" + p.TS
			replace := msg
			replace.ReplaceOriginal = true
			if err := slack.Respond(ctx, s.slackClient, p.ResponseURL, replace); err != nil {
				log.WarnContext(ctx, "Slack message not updated after a click", "case", caseID, "err", err)
			}
		}
	case err != redis.Nil:
		log.WarnContext(ctx, "Slack click not looked up", "case", caseID, "err", err)
	}
	if len(s.slackBots) == 0 {
		return
	}
	deliveries, err := s.log.Case(ctx, caseID)
	if err != nil {
		log.WarnContext(ctx, "Slack messages not updated", "case", caseID, "err", err)
		return
	}
	done := map[string]bool{clicked: true}
	for _, d := range deliveries {
		bot, ok := s.slackBots[d.Receiver]
		if !ok || d.MessageRef == "" || done[d.MessageRef] || d.Outcome != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED {
			continue
		}
		done[d.MessageRef] = true
		if !s.firstToShow(ctx, caseID, d.MessageRef, ev) {
			continue
		}
		if err := bot.Update(ctx, d.MessageRef, msg); err != nil {
			log.WarnContext(ctx, "Slack message not updated", "case", caseID, "receiver", d.Receiver, "err", err)
		}
	}
}

// newerOnly records, in the hash KEYS[1], ARGV[1] (a case's updated_at in
// ms) and ARGV[3] (the event that took the case) unless it holds a later
// time, and says whether it did.
var newerOnly = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
if tonumber(ARGV[1]) < cur then return 0 end
redis.call('HSET', KEYS[1], 'at', ARGV[1], 'event', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// latestShown reports whether ev is the latest state of its case the
// messages were updated to, and marks it so: events handled side by side
// (an acknowledgement and the resolution a minute later) must not leave the
// channel showing the older one. The same event again is still the latest.
func (s *Service) latestShown(ctx context.Context, ev *fbv1.CaseEvent) (bool, error) {
	raw, err := proto.Marshal(takenRecord(ev))
	if err != nil {
		return false, fmt.Errorf("order Slack updates of case %s: %w", ev.Case.GetId(), err)
	}
	n, err := newerOnly.Run(ctx, s.d.Redis, []string{s.takenKey(ev.Case.GetId())}, updatedAt(ev), s.cfg.DedupTTL.Milliseconds(), raw).Int()
	if err != nil {
		return false, fmt.Errorf("order Slack updates of case %s: %w", ev.Case.GetId(), err)
	}
	return n == 1, nil
}

// showing records, in the hash KEYS[1], that message ARGV[1] is being
// updated to the case as of ARGV[2] (ms), unless it was to that time or a
// later one, and says whether it did.
var showing = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) <= cur then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

// firstToShow reports whether this replica is the one to update message
// ref to the case as ev took it. A page posted while the case was taken
// is caught up by both sides at times (catchUpSlack and updateSlack each
// seeing the other), and one update is enough; an error says yes, since a
// second update of the same text is harmless and a missed one is not.
func (s *Service) firstToShow(ctx context.Context, caseID, ref string, ev *fbv1.CaseEvent) bool {
	n, err := showing.Run(ctx, s.d.Redis, []string{s.d.Keys.Global("slack", "shown", caseID)}, ref, updatedAt(ev), s.cfg.DedupTTL.Milliseconds()).Int()
	if err != nil {
		s.d.Tel.Logger.WarnContext(ctx, "Slack update not deduplicated", "case", caseID, "err", err)
		return true
	}
	return n == 1
}

// takenRecord is what catchUpSlack needs of an event that took a case
// (slack.Taken reads the case's header, reach, state and snooze): the event
// without the case's mention ids, texts, replies, addresses and private
// messages, which may be hundreds of KiB and are not for a second store.
func takenRecord(ev *fbv1.CaseEvent) *fbv1.CaseEvent {
	out := proto.Clone(ev).(*fbv1.CaseEvent)
	if c := out.Case; c != nil {
		c.MentionIds, c.Texts, c.Replies, c.MentionUrls, c.PrivateTexts, c.Incident = nil, nil, nil, nil, nil, nil
	}
	return out
}

// takenKey holds the latest event that took a case (acknowledged,
// snoozed, resolved, unsnoozed) and its time.
func (s *Service) takenKey(caseID string) string { return s.d.Keys.Global("slack", "taken", caseID) }

// updatedAt is when ev's case last changed, in ms.
func updatedAt(ev *fbv1.CaseEvent) int64 {
	if ev.Case.GetUpdatedAt() == nil {
		return ev.GetAt().AsTime().UnixMilli()
	}
	return ev.Case.GetUpdatedAt().AsTime().UnixMilli()
}

// catchUpSlack shows, on the Slack messages a page just posted, that the
// case was taken meanwhile. An acknowledgement handled while the page was
// being posted found no message to update (updateSlack reads the delivery
// log, written once the post returned); this side writes the log first and
// then reads what took the case, so one of the two always sees the other.
func (s *Service) catchUpSlack(ctx context.Context, ev *fbv1.CaseEvent, results []notify.Result) {
	var posted []notify.Result
	for _, r := range results {
		if _, ok := s.slackBots[r.Receiver]; ok && r.MessageRef() != "" && r.Outcome == fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED {
			posted = append(posted, r)
		}
	}
	if len(posted) == 0 {
		return
	}
	log := s.d.Tel.Logger
	raw, err := s.d.Redis.HGet(ctx, s.takenKey(ev.Case.GetId()), "event").Bytes()
	if err != nil {
		if err != redis.Nil {
			log.WarnContext(ctx, "Slack messages not caught up", "case", ev.Case.GetId(), "err", err)
		}
		return
	}
	var taken fbv1.CaseEvent
	if err := proto.Unmarshal(raw, &taken); err != nil || updatedAt(&taken) <= updatedAt(ev) {
		return // nothing took the case after this page's event
	}
	msg := slack.Taken(&taken, s.linkBase)
	for _, r := range posted {
		if !s.firstToShow(ctx, ev.Case.GetId(), r.MessageRef(), &taken) {
			continue
		}
		if err := s.slackBots[r.Receiver].Update(ctx, r.MessageRef(), msg); err != nil {
			log.WarnContext(ctx, "Slack message not caught up", "case", ev.Case.GetId(), "receiver", r.Receiver, "err", err)
		}
	}
}

// newSlackClient is the client of response_url posts.
func newSlackClient(transport http.RoundTripper) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: transport}
}
