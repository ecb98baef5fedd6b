package apikey

import (
	"strings"
	"testing"
)

func TestParseAndCheck(t *testing.T) {
	set, err := Parse([]byte("# partners\nacme-bot: 0123456789abcdef0123\n\n fedcba9876543210fedc \n"))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 2 {
		t.Fatalf("%d keys, want 2", set.Len())
	}
	if name, ok := set.Check("0123456789abcdef0123"); !ok || name != "acme-bot" {
		t.Fatalf("named key: %q %v", name, ok)
	}
	if name, ok := set.Check("fedcba9876543210fedc"); !ok || !strings.HasPrefix(name, "key-") {
		t.Fatalf("unnamed key: %q %v", name, ok)
	}
	for _, wrong := range []string{"", "0123456789abcdef012", "0123456789abcdef01234"} {
		if _, ok := set.Check(wrong); ok {
			t.Fatalf("accepted %q", wrong)
		}
	}
}

func TestParseRefusesWeakOrDuplicateKeys(t *testing.T) {
	for name, file := range map[string]string{
		"short":     "a:short",
		"duplicate": "a:0123456789abcdef0123\nb:0123456789abcdef0123",
		"empty":     "# nothing\n",
		"spaces":    "a:0123456789 abcdef0123",
	} {
		if _, err := Parse([]byte(file)); err == nil {
			t.Errorf("%s: accepted %q", name, file)
		}
	}
}

func TestFromHeader(t *testing.T) {
	if got := FromHeader("Bearer abc", ""); got != "abc" {
		t.Fatalf("bearer: %q", got)
	}
	if got := FromHeader("Bearer abc", "xyz"); got != "xyz" {
		t.Fatalf("x-api-key wins: %q", got)
	}
	if got := FromHeader("Basic abc", ""); got != "" {
		t.Fatalf("basic: %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("acme:0123456789abcdef0123\n"))
	f.Add([]byte("# c\n\nfedcba9876543210fedc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse(data)
		if err == nil && set.Len() == 0 {
			t.Fatal("no error and no keys")
		}
	})
}
