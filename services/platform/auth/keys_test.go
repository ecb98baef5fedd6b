package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/reload"
)

func TestKeysFileGivesEachKeyItsNameRolesAndBrands(t *testing.T) {
	file := "# callers\n" +
		"ana:0123456789abcdef0123 roles=responder\n\n" +
		"acme-bot:" + Digest("fedcba9876543210fedc") + " roles=ingest brands=acme,globex\n" +
		"console:sha256-less-key-0000 roles=service,viewer\n"
	keys, err := ParseKeys([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if keys.Len() != 3 {
		t.Fatalf("%d keys, want 3", keys.Len())
	}
	ana, ok := keys.Lookup("0123456789abcdef0123")
	if !ok || ana.Name != "ana" || ana.Subject != "key:ana" || ana.Method != MethodAPIKey || !ana.Has(Responder) || !ana.Has(Viewer) || ana.Has(Admin) {
		t.Fatalf("ana: %+v %v", ana, ok)
	}
	bot, ok := keys.Lookup("fedcba9876543210fedc")
	if !ok || !bot.MayIngest("acme") || !bot.MayIngest("globex") || bot.MayIngest("initech") || bot.Has(Viewer) {
		t.Fatalf("acme-bot (stored as a digest): %+v %v", bot, ok)
	}
	for _, wrong := range []string{"", "0123456789abcdef012", "0123456789abcdef01234", Digest("fedcba9876543210fedc")} {
		if id, ok := keys.Lookup(wrong); ok {
			t.Errorf("accepted %q as %s", wrong, id)
		}
	}
}

func TestKeysFileRefusesWhatWouldBeUnsafeOrAmbiguous(t *testing.T) {
	for name, c := range map[string]struct{ file, says string }{
		"no roles":             {"ana:0123456789abcdef0123\n", "no roles"},
		"unknown role":         {"ana:0123456789abcdef0123 roles=root\n", "unknown role"},
		"ingest without brand": {"bot:0123456789abcdef0123 roles=ingest\n", "no brands"},
		"no name":              {"0123456789abcdef0123 roles=viewer\n", "needs a name"},
		"short key":            {"ana:short roles=viewer\n", "at least 16"},
		"same key twice":       {"a:0123456789abcdef0123 roles=viewer\nb:0123456789abcdef0123 roles=viewer\n", "same key"},
		"same name twice":      {"a:0123456789abcdef0123 roles=viewer\na:0123456789abcdef0124 roles=viewer\n", "used twice"},
		"unknown attribute":    {"a:0123456789abcdef0123 roles=viewer admin=true\n", "unknown attribute"},
		"bad name":             {"a b:0123456789abcdef0123 roles=viewer\n", "want NAME:KEY"},
		"empty":                {"# nothing\n", "no keys"},
	} {
		_, err := ParseKeys([]byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %v, want one saying %q", name, err, c.says)
		}
		if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
}

func TestNewKeyLineIsAcceptedAndHoldsNoKey(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	line := KeyLine("ana", key, []Role{Responder}, nil)
	if strings.Contains(line, key) {
		t.Fatalf("line %q holds the key itself", line)
	}
	keys, err := ParseKeys([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := keys.Lookup(key); !ok || id.Name != "ana" {
		t.Fatalf("key from its own line: %+v %v", id, ok)
	}
}

func TestKeysFileIsReloadedWhenItChangesAndABrokenOneKeepsTheOldKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	write := func(content string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	write("old:0123456789abcdef0123 roles=viewer\n", start)
	var reported []error
	f, err := reload.Open(path, time.Second, loadKeys, func(err error) { reported = append(reported, err) }, start)
	if err != nil {
		t.Fatal(err)
	}
	write("new:fedcba9876543210fedc roles=viewer\n", start.Add(time.Minute))
	if _, ok := f.Current(start.Add(500 * time.Millisecond)).Lookup("fedcba9876543210fedc"); ok {
		t.Fatal("file checked again before the check interval")
	}
	keys := f.Current(start.Add(2 * time.Second))
	if _, ok := keys.Lookup("fedcba9876543210fedc"); !ok {
		t.Fatal("new key not accepted after the file changed")
	}
	if _, ok := keys.Lookup("0123456789abcdef0123"); ok {
		t.Fatal("removed key still accepted")
	}
	write("broken\n", start.Add(2*time.Minute))
	if _, ok := f.Current(start.Add(4 * time.Second)).Lookup("fedcba9876543210fedc"); !ok || len(reported) != 1 {
		t.Fatalf("a broken file must keep the last good keys and be reported: %v", reported)
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("acme:0123456789abcdef0123 roles=ingest brands=acme\n"))
	f.Add([]byte("# c\n\nana:" + Digest("x") + " roles=admin"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseKeys(data)
		if err == nil && keys.Len() == 0 {
			t.Fatal("no error and no keys")
		}
	})
}
