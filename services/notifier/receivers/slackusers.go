package receivers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/firebreak/firebreak/services/notifier/notify/slack"
	"github.com/firebreak/firebreak/services/platform/reload"
)

// SlackUser is one entry of the Slack users file.
type SlackUser struct {
	// User is the Firebreak identity the Slack user acts as, as it appears
	// on the case timeline.
	User string `yaml:"user"`
	// Role is viewer, responder or admin; responders and admins may
	// acknowledge, snooze and resolve from Slack.
	Role string `yaml:"role"`
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// LoadSlackUsers reads the Slack users file: Slack user ids mapped to
// Firebreak users and roles,
//
//	U0CA5: {user: amy@example.com, role: responder}
//
// reporting every problem at once.
func LoadSlackUsers(path string) (slack.Users, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read Slack users file: %w; set --slack-users-file to a readable YAML file", err)
	}
	var in map[string]SlackUser
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		return nil, &ValidationError{Path: path, Problems: []Problem{{Field: "(file)", Message: err.Error() + "; write one `SLACKID: {user: NAME, role: ROLE}` a line"}}}
	}
	v := &validator{}
	out := slack.Users{}
	for _, id := range sortedKeys(in) {
		u := in[id]
		if !slackUserID.MatchString(id) {
			v.add(id, "is not a Slack user id; copy it from the person's Slack profile (⋮ → Copy member ID), e.g. U0CA5")
		}
		if u.User == "" || len(u.User) > 128 {
			v.add(id+".user", "missing or over 128 characters; name the Firebreak user the Slack user acts as")
		}
		switch u.Role {
		case "viewer", "responder", "admin":
		default:
			v.add(id+".role", "%q is not a role; use viewer, responder or admin", u.Role)
		}
		out[id] = slack.User{Name: u.User, Role: u.Role}
	}
	if len(v.problems) > 0 {
		return nil, &ValidationError{Path: path, Problems: v.problems}
	}
	return out, nil
}

// SlackUsersFile is the Slack users file, re-read when it changes, so a
// person added or removed takes effect without a restart. A change that
// does not load keeps the last good mapping and is reported once.
type SlackUsersFile struct{ file *reload.File[slack.Users] }

// OpenSlackUsers loads the file, failing as LoadSlackUsers does, and
// checks it again at most every checkEvery; onError hears of a change that
// does not load.
func OpenSlackUsers(path string, checkEvery time.Duration, onError func(error)) (*SlackUsersFile, error) {
	f, err := reload.Open(path, checkEvery, LoadSlackUsers, onError, time.Now())
	if err != nil {
		return nil, err
	}
	return &SlackUsersFile{f}, nil
}

// Lookup finds a Slack user's Firebreak user in the file as it is now.
func (f *SlackUsersFile) Lookup(slackID string) (slack.User, bool) {
	return f.file.Current(time.Now()).Lookup(slackID)
}
