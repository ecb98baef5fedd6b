package receivers

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSlackUsersFileIsReReadWhenItChangesAndKeepsTheLastGoodMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slack-users.yaml")
	write := func(doc string, at time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("U0CA5: {user: amy, role: responder}\n", t0)
	var reported []error
	f, err := OpenSlackUsers(path, 0, func(err error) { reported = append(reported, err) })
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := f.Lookup("U0CA5"); !ok || u.Name != "amy" {
		t.Fatalf("U0CA5: %v %v, want amy", u, ok)
	}
	if _, ok := f.Lookup("U0BOB"); ok {
		t.Fatal("U0BOB is mapped before anyone added him")
	}

	write("U0CA5: {user: amy, role: responder}\nU0BOB: {user: bob, role: viewer}\n", t0.Add(time.Minute))
	if u, ok := f.Lookup("U0BOB"); !ok || u.Name != "bob" || u.Role != "viewer" {
		t.Fatalf("after adding him, U0BOB: %v %v; want bob, viewer, without a restart", u, ok)
	}

	write("U0CA5: {user: amy, role: boss}\n", t0.Add(2*time.Minute))
	if u, ok := f.Lookup("U0BOB"); !ok || u.Name != "bob" {
		t.Fatalf("a change that does not load dropped the last good mapping: %v %v", u, ok)
	}
	f.Lookup("U0CA5") // looked at again, unchanged
	if len(reported) != 1 {
		t.Fatalf("%d problems reported for the bad change, want 1: %v", len(reported), reported)
	}
}
