package notifier

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/pagerduty"
	"github.com/firebreak/firebreak/services/notifier/notify/slack"
	"github.com/firebreak/firebreak/services/notifier/receivers"
	"github.com/firebreak/firebreak/services/platform/admin"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/config"
)

// slackUsersCheck is how often the Slack users file is looked at again.
const slackUsersCheck = 5 * time.Second

// mountCallbacks serves the endpoints through which people acknowledge,
// snooze and resolve cases from their tools: Slack's buttons and
// PagerDuty's incident webhooks. Each verifies the tool's signature; what
// it asks for goes to escalation as a command on the bus.
func (s *Service) mountCallbacks(srv *admin.Server) error {
	if path := s.cfg.SlackSigningSecretFile; path != "" {
		secret, err := config.ReadSecret(path)
		if err != nil {
			return err
		}
		var users slack.Directory = slack.Users{}
		if s.cfg.SlackUsersFile != "" {
			// Re-read when it changes: adding a person needs no restart.
			if users, err = receivers.OpenSlackUsers(s.cfg.SlackUsersFile, slackUsersCheck, func(err error) {
				s.d.Tel.Logger.Error("the Slack users file changed but does not load; the last good mapping stays", "err", err)
			}); err != nil {
				return err
			}
		}
		srv.Handle("POST /v1/slack/interactions", slack.InteractionHandler(slack.Options{
			SigningSecret: notify.Secret(secret), Users: users, Commander: commander{s, "slack"}, Clock: s.clock,
			Events: &callbackEvents{s: s, source: "slack"}, Client: s.slackClient, ResponseHosts: s.slackHosts(),
		}))
	}
	if path := s.cfg.PagerDutyWebhookSecretFile; path != "" {
		secret, err := config.ReadSecret(path)
		if err != nil {
			return err
		}
		events := &callbackEvents{s: s, source: "pagerduty"}
		srv.Handle("POST /v1/pagerduty/webhook", pagerduty.WebhookHandler(notify.Secret(secret), commander{s, "pagerduty"}, s.clock, events))
	}
	return nil
}

// callbackEvents remembers handled callback event ids in Redis, shared by
// every replica, for twice the age past which events are refused anyway.
type callbackEvents struct {
	s      *Service
	source string
}

func (e *callbackEvents) key(id string) string { return e.s.d.Keys.Global("callback", e.source, id) }

func (e *callbackEvents) Claim(ctx context.Context, id string) (bool, error) {
	return e.s.d.Redis.SetNX(ctx, e.key(id), 1, 2*pagerduty.MaxEventAge).Result()
}

func (e *callbackEvents) Release(ctx context.Context, id string) {
	_ = e.s.d.Redis.Del(ctx, e.key(id)).Err()
}

// commander turns a verified callback into a CaseCommand on the bus.
type commander struct {
	s      *Service
	source string
}

func (c commander) Acknowledge(ctx context.Context, ref notify.CaseRef, actor string) error {
	return c.send(ctx, ref, actor, fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE)
}

func (c commander) Resolve(ctx context.Context, ref notify.CaseRef, actor string) error {
	return c.send(ctx, ref, actor, fbv1.CaseCommandAction_CASE_COMMAND_ACTION_RESOLVE)
}

// Click passes on a Slack button pressed by a mapped Firebreak user: the
// command is theirs, with their Slack identity as how they authenticated.
// The click's response_url is kept first, so the notifier can replace the
// clicked message once escalation has applied the command.
func (c commander) Click(ctx context.Context, k slack.Click) error {
	action, snooze := fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE, int64(0)
	switch k.Action {
	case slack.SnoozeActionID:
		action, snooze = fbv1.CaseCommandAction_CASE_COMMAND_ACTION_SNOOZE, int64(slack.SnoozeFor/time.Second)
	case slack.ResolveActionID:
		action = fbv1.CaseCommandAction_CASE_COMMAND_ACTION_RESOLVE
	}
	if k.ResponseURL != "" {
		if err := c.s.rememberClick(ctx, k); err != nil {
			return err
		}
	}
	return c.command(ctx, k.Ref, k.User.Name, "slack:"+k.SlackUser, action, snooze)
}

func (c commander) send(ctx context.Context, ref notify.CaseRef, actor string, action fbv1.CaseCommandAction) error {
	return c.command(ctx, ref, actor, "", action, 0)
}

func (c commander) command(ctx context.Context, ref notify.CaseRef, actor, via string, action fbv1.CaseCommandAction, snoozeSeconds int64) error {
	now := c.s.clock.Now()
	caseID := ref.ID
	// One id per press, second by second: a tool retrying its callback
	// within the broker's dedup window is published once.
	id := fmt.Sprintf("%s:%s:%s:%s:%d", c.source, caseID, action, actor, now.Unix())
	cmd := &fbv1.CaseCommand{Id: id, CaseId: caseID, Action: action, Actor: actor, Via: via, Source: c.source, At: timestamppb.New(now), SnoozeSeconds: snoozeSeconds}
	if ref.HasEpisode {
		// Escalation applies it only to that episode of the case.
		cmd.Id = fmt.Sprintf("%s:%s:e%d:%s:%s:%d", c.source, caseID, ref.Episode, action, actor, now.Unix())
		cmd.Episode = &ref.Episode
	}
	_, err := c.s.d.Publisher.Publish(ctx, bus.Event{
		Subject: c.s.d.Names.CaseCommands(), MsgID: id, Type: bus.TypeCaseCommand,
		Headers: map[string]string{bus.HeaderCaseID: caseID}, Message: cmd,
	})
	if err != nil {
		return fmt.Errorf("pass %s's request on case %s to escalation: %w", c.source, caseID, err)
	}
	return nil
}
