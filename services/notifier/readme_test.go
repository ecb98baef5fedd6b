package notifier

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/notifier/receivers"
)

// TestREADMEReceiversExampleLoads keeps the README's receivers example true:
// it must load, with its secret files in place.
func TestREADMEReceiversExampleLoads(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "The notifier reads `--receivers-file`:")
	if !ok {
		t.Fatal("README lost its receivers example")
	}
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(after)
	if block == nil {
		t.Fatal("no yaml block after the receivers heading")
	}
	dir := t.TempDir()
	doc := strings.ReplaceAll(block[1], "/secrets/", dir+"/")
	values := map[string]string{"pd-routing-key": strings.Repeat("k", 32), "slack-webhook": "https://hooks.slack.com/services/T0/B0/x"}
	for _, name := range regexp.MustCompile(`/secrets/([a-z-]+)`).FindAllStringSubmatch(block[1], -1) {
		v, ok := values[name[1]]
		if !ok {
			v = "secret"
		}
		if err := os.WriteFile(filepath.Join(dir, name[1]), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "receivers.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := receivers.Load(path)
	if err != nil {
		t.Fatalf("README's receivers example does not load: %v", err)
	}
	if got := cfg.Route("senior", 2); len(got) != 1 || got[0] != "head-of-social" {
		t.Fatalf("senior level 2 routes to %v", got)
	}
}
