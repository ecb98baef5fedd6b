package scorer

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/scorer/score"
	"github.com/firebreak/firebreak/services/scorer/score/train"
)

// teamMentions is a team's own small labelled file, as `firebreak train
// --in` reads it.
const teamMentions = `text,label
"@acme the blender arrived broken, second time",negative
"@acme still no refund after three weeks",negative
"@acme love the new kettle, works great",positive
"@acme thanks for the quick replacement!",positive
"@acme do you ship to Norway?",neutral
"@acme what are your opening hours on Sunday",neutral
`

// TestServiceLoadsATeamsTrainedModel trains a model on a small labelled
// file, writes it as `firebreak train` does, and starts the service with it:
// every score then names the team's model.
func TestServiceLoadsATeamsTrainedModel(t *testing.T) {
	examples := readTeamMentions(t, teamMentions)
	cfg := train.CustomConfig()
	cfg.Version, cfg.HashBits = "acme-2026.11.1", 12
	m, err := train.Train(examples, cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "acme.fbm.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	env := depstest.New(t)
	d := env.Deps(t, "scorer")
	svc, err := New(t.Context(), Config{Common: env.Common, MaxInFlight: 4, Model: path}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	conn, err := rpc.Dial(svc.GRPCAddr(), env.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := fbv1.NewScorerServiceClient(conn).Score(context.Background(), &fbv1.ScoreRequest{Text: "@acme my order arrived broken"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Score.ModelVersion != "acme-2026.11.1" || resp.Score.Sentiment != fbv1.Sentiment_SENTIMENT_NEGATIVE {
		t.Errorf("score %v, want negative from model acme-2026.11.1", resp.Score)
	}
}

func TestServiceRefusesAnUnknownModel(t *testing.T) {
	_, err := newScorer(Config{Model: filepath.Join(t.TempDir(), "nope.gz")})
	if err == nil || !strings.Contains(err.Error(), "--scorer-model") {
		t.Errorf("err = %v, want one naming --scorer-model", err)
	}
	for _, name := range score.BuiltinModels() {
		s, err := newScorer(Config{Model: name})
		if err != nil || s.ModelVersion() == score.LexiconVersion {
			t.Errorf("built-in model %s: %v, version %v", name, err, s)
		}
	}
}

func readTeamMentions(t *testing.T, doc string) []train.Example {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(doc)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]train.Example, 0, len(rows)-1)
	for _, r := range rows[1:] {
		l, err := score.ParseLabel(r[1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, train.Example{Text: r[0], Label: l})
	}
	return out
}
