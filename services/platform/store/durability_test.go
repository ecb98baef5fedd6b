package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

func durabilityOf(t *testing.T, mode string, args ...string) (string, error) {
	t.Helper()
	addr := storetest.StartServer(t, args...)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	var log bytes.Buffer
	err := store.CheckDurability(context.Background(), client, mode, slog.New(slog.NewTextHandler(&log, nil)))
	return log.String(), err
}

func TestRedisWithoutAppendOnlyIsRefusedUnlessLossIsAccepted(t *testing.T) {
	log, err := durabilityOf(t, store.DurabilityRequire, "--appendonly", "no")
	if err == nil || !strings.Contains(err.Error(), "appendonly no") || !strings.Contains(err.Error(), "--redis-durability=accept-loss") {
		t.Fatalf("appendonly no, require: err = %v, want a refusal naming the fix and the override", err)
	}
	if !strings.Contains(log, "appendonly=no") {
		t.Errorf("the setting is not logged: %s", log)
	}
	// The zero value (a Config built in code) requires persistence too.
	if _, err := durabilityOf(t, "", "--appendonly", "no"); err == nil {
		t.Fatal("appendonly no with no mode set: started")
	}
	log, err = durabilityOf(t, store.DurabilityAcceptLoss, "--appendonly", "no")
	if err != nil {
		t.Fatalf("appendonly no, accept-loss: %v", err)
	}
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "accept-loss") {
		t.Errorf("accepting the loss is not warned about: %s", log)
	}
}

func TestRedisWithAppendOnlyStarts(t *testing.T) {
	log, err := durabilityOf(t, store.DurabilityRequire, "--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		t.Fatalf("appendonly yes: %v", err)
	}
	if !strings.Contains(log, "appendonly=yes") || !strings.Contains(log, "appendfsync=always") {
		t.Errorf("the settings are not logged: %s", log)
	}
}

func TestRedisThatRefusesConfigIsReportedNotRefused(t *testing.T) {
	// A managed Redis may rename or refuse CONFIG.
	log, err := durabilityOf(t, store.DurabilityRequire, "--appendonly", "no", "--rename-command", "CONFIG", "")
	if err != nil {
		t.Fatalf("CONFIG refused: %v, want a start with a warning", err)
	}
	if !strings.Contains(log, "cannot read Redis's persistence settings") {
		t.Errorf("the unknown durability is not said: %s", log)
	}
}
