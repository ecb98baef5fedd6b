package notify_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/notifier/notify"
)

func TestSecretNeverPrints(t *testing.T) {
	s := notify.Secret("hunter2")
	j, _ := json.Marshal(map[string]any{"k": s})
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "key", s)
	printed := fmt.Sprintf("%v %s %q %x %#v %+v", s, s, s, s, s, struct{ S notify.Secret }{s}) + string(j) + logged.String()
	if strings.Contains(printed, "hunter2") || !strings.Contains(printed, "<redacted>") {
		t.Fatalf("printed %q", printed)
	}
	if string(s) != "hunter2" {
		t.Fatal("string(s) must reveal the value for the receivers that need it")
	}
}
