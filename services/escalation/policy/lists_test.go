package policy

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

const listsPolicy = `lists:
  vip: vip.txt
  press: press.txt
routes:
  - name: vip
    match: author.vip && complaint
    team: senior
    priority: CRITICAL
    reason: a VIP complains
  - name: press
    match: '"press" in author.lists'
    team: senior
    priority: HIGH
    reason: a journalist mentions us
  - name: rest
    match: complaint
    team: standard
    priority: NORMAL
    reason: r
chains:
  senior:
    levels: [{receivers: [oncall], ack_timeout: 5m}]
  standard:
    levels: [{receivers: [queue], ack_timeout: 30m}]
`

// files serves list contents by path, as a caller reading them would.
func files(m map[string]string) ListReader {
	return func(path string) ([]byte, error) {
		s, ok := m[path]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(s), nil
	}
}

func authorOn(platform fbv1.Platform, id string) *fbv1.Mention {
	return &fbv1.Mention{Id: "m", Platform: platform, Brand: "acme", Author: &fbv1.Author{Id: id, Followers: 10}}
}

func TestListsReachCEL(t *testing.T) {
	t.Parallel()
	p, err := ParseWithLists([]byte(listsPolicy), files(map[string]string{
		"vip.txt":   "# our VIPs\nx:12345\nmastodon:109876  # the mayor\n\nbluesky:did:plc:abc123\n",
		"press.txt": "x:12345\nx:777\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	low := reachOf(10, 203000, fbv1.Tier_TIER_LOW)
	tests := []struct {
		name    string
		in      Input
		route   string
		vip     bool
		lists   string
		escalat bool
	}{
		{"vip on x complains", Input{Mention: authorOn(fbv1.Platform_PLATFORM_X, "12345"), Score: complaintScore(), Reach: low}, "vip", true, "press,vip", true},
		{"the same id on another platform is someone else", Input{Mention: authorOn(fbv1.Platform_PLATFORM_MASTODON, "12345"), Score: complaintScore(), Reach: low}, "rest", false, "", true},
		{"a bluesky did with colons", Input{Mention: authorOn(fbv1.Platform_PLATFORM_BLUESKY, "did:plc:abc123"), Score: complaintScore(), Reach: low}, "vip", true, "vip", true},
		{"press praise still opens a case", Input{Mention: authorOn(fbv1.Platform_PLATFORM_X, "777"), Score: praiseScore(), Reach: low}, "press", false, "press", true},
		{"nobody's praise opens nothing", Input{Mention: authorOn(fbv1.Platform_PLATFORM_X, "1"), Score: praiseScore(), Reach: low}, "", false, "", false},
		{"a brand reply is judged by its customer", Input{Mention: &fbv1.Mention{Platform: fbv1.Platform_PLATFORM_X, BrandReply: true, Author: &fbv1.Author{Id: "brand"}},
			Score: praiseScore(), To: &fbv1.Author{Id: "777"}}, "press", false, "press", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := p.Evaluate(tt.in)
			if o.Route != tt.route || o.Escalate != tt.escalat {
				t.Errorf("Evaluate = route %q escalate %v, want %q %v (%s)", o.Route, o.Escalate, tt.route, tt.escalat, texts(o.Reasons))
			}
			f := p.Author(tt.in)
			if f.VIP != tt.vip || strings.Join(f.Lists, ",") != tt.lists {
				t.Errorf("Author = %+v, want vip %v lists %q", f, tt.vip, tt.lists)
			}
		})
	}
	if got := p.Lists(); len(got) != 2 || got[0] != (List{Name: "press", Path: "press.txt", Authors: 2}) || got[1].Authors != 3 {
		t.Errorf("Lists = %+v", got)
	}
}

func TestListsRefusedWithNameLineAndFileLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		doc   string
		files map[string]string
		want  []string
	}{
		{"missing file", listsPolicy, map[string]string{"vip.txt": "x:1"},
			[]string{`list "press" (line 3): read press.txt: file does not exist; create it or fix the path`}},
		{"bad lines", listsPolicy, map[string]string{"vip.txt": "x:1\ntwitter:2\nmyspace:3\nx:\nx:@dan\nx:a b\n12345\n", "press.txt": ""},
			[]string{`list "vip" (line 2): vip.txt line 3: "myspace:3": platform "myspace" is unknown`,
				`vip.txt line 4: "x:": the id is missing`, `vip.txt line 5: "x:@dan": give the account's id, not its handle`,
				`vip.txt line 6: "x:a b": an id has no spaces`, `vip.txt line 7: "12345": want platform:id`}},
		{"bad name", strings.Replace(listsPolicy, "press: press.txt", "Press!: press.txt", 1), map[string]string{"vip.txt": "", "press.txt": ""},
			[]string{`list "Press!" (line 3): name it with lowercase letters`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseWithLists([]byte(tt.doc), files(tt.files))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseWithLists = %v, want a *ParseError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestListFileProblemsAreBounded(t *testing.T) {
	t.Parallel()
	_, problems := parseList([]byte(strings.Repeat("nonsense\n", 1000)))
	if len(problems) != maxListProblems+1 || !strings.Contains(problems[maxListProblems], "990 more") {
		t.Errorf("%d problems, last %q; want %d and a count of the rest", len(problems), problems[len(problems)-1], maxListProblems+1)
	}
	if _, problems := parseList(make([]byte, MaxListBytes+1)); len(problems) != 1 || !strings.Contains(problems[0], "at most") {
		t.Errorf("an oversized list: %v", problems)
	}
}

func TestParseAloneRefusesAPolicyWithLists(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(listsPolicy))
	if err == nil || !strings.Contains(err.Error(), "line 1: lists: this policy names list files") {
		t.Errorf("Parse = %v, want a refusal pointing at ParseWithLists", err)
	}
	if got := ListPaths([]byte(listsPolicy)); strings.Join(got, ",") != "press.txt,vip.txt" {
		t.Errorf("ListPaths = %v", got)
	}
}

func TestNoListsNoAuthorFacts(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(minimal, "match: complaint", "match: complaint && !author.vip && size(author.lists) == 0", 1)
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if o := p.Evaluate(Input{Mention: mention(), Score: complaintScore()}); !o.Escalate {
		t.Errorf("a policy without lists: author.vip should be false and author.lists empty; got %+v", o)
	}
}
