package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := find1(t, args).run(context.Background(), args[1:], &stdout, &stderr)
	return stdout.String(), err
}

func find1(t *testing.T, args []string) command {
	t.Helper()
	c, _, ok := find(commands(), args)
	if !ok {
		t.Fatalf("no command %q", args[0])
	}
	return c
}

func TestScoreWritesOneObjectPerRowFromMultiLineCSV(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	csvText := "id,text\n1,\"@united you lost my bag,\nand nobody answers\"\n2,thanks so much 😀\n"
	if err := os.WriteFile(in, []byte(csvText), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.ndjson")
	if _, err := runCLI(t, "score", "--in", in, "--id-column", "id", "--text-column", "text", "--out", out); err != nil {
		t.Fatal(err)
	}
	rows := readNDJSONFile(t, out)
	if len(rows) != 2 || rows[0]["id"] != "1" || rows[0]["label"] != "negative" || rows[1]["label"] != "positive" {
		t.Fatalf("rows = %v, want 1 negative and 2 positive", rows)
	}
	for _, key := range []string{"compound", "complaint", "topics", "toxicity", "urgency", "model"} {
		if _, ok := rows[0][key]; !ok {
			t.Errorf("row has no %q: %v", key, rows[0])
		}
	}
}

func TestScoreReadsNDJSONLexiconOnly(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ndjson")
	if err := os.WriteFile(in, []byte(`{"id": 7, "text": "this is great"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.ndjson")
	if _, err := runCLI(t, "score", "--in", in, "--out", out, "--lexicon-only"); err != nil {
		t.Fatal(err)
	}
	rows := readNDJSONFile(t, out)
	if len(rows) != 1 || rows[0]["id"] != "7" || rows[0]["model"] != "lexicon-1" || rows[0]["label"] != "positive" {
		t.Fatalf("rows = %v", rows)
	}
}

func TestEvalPrintsMetricsAndTrainIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "labelled.csv")
	var b strings.Builder
	b.WriteString("text,label,confidence\n")
	for i := 0; i < 20; i++ {
		b.WriteString("\"you lost my bag, awful\",negative,1\n\"thank you, lovely crew\",positive,0.8\n\"what time is boarding\",neutral,1\n")
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "eval", "--in", in, "--weight-column", "confidence")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accuracy", "precision", "recall", "f1", "confusion"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	if out, err = runCLI(t, "eval", "--in", in, "--train", "--folds", "3", "--baselines"); err != nil || !strings.Contains(out, "naive Bayes") {
		t.Fatalf("cross-validation: %v\n%s", err, out)
	}
	var models [2][]byte
	for i := range models {
		path := filepath.Join(dir, "m.gz")
		if _, err := runCLI(t, "train", "--in", in, "--out", path, "--hash-bits", "12", "--weight-column", "confidence"); err != nil {
			t.Fatal(err)
		}
		if models[i], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(models[0], models[1]) {
		t.Error("two trainings on the same data wrote different models")
	}
}

func TestScoreRejectsMissingColumn(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(in, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "score", "--in", in, "--out", filepath.Join(t.TempDir(), "o")); err == nil || !strings.Contains(err.Error(), `no column "id"`) {
		t.Fatalf("err = %v, want a missing column error", err)
	}
}

func readNDJSONFile(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad NDJSON line %q: %v", sc.Text(), err)
		}
		rows = append(rows, m)
	}
	return rows
}

func TestScoreUsesTheNamedModel(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("id,text\n1,@united you lost my bag\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	models := map[string]string{}
	for _, args := range [][]string{nil, {"--model", "airline"}, {"--model", "default"}} {
		out := filepath.Join(dir, "out.ndjson")
		if _, err := runCLI(t, append([]string{"score", "--in", in, "--id-column", "id", "--text-column", "text", "--out", out}, args...)...); err != nil {
			t.Fatal(err)
		}
		rows := readNDJSONFile(t, out)
		if len(rows) != 1 {
			t.Fatalf("rows = %v", rows)
		}
		models[strings.Join(args, " ")], _ = rows[0]["model"].(string)
	}
	if models[""] != models["--model default"] || models[""] == models["--model airline"] || models["--model airline"] == "" {
		t.Errorf("model versions by flag = %v, want the default unless --model airline", models)
	}
	if _, err := runCLI(t, "score", "--in", in, "--model", filepath.Join(dir, "missing.gz")); err == nil || !strings.Contains(err.Error(), "neither a built-in model") {
		t.Errorf("err = %v, want a missing model file error", err)
	}
}
