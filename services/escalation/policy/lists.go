package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// VIP and watch lists are files of author ids, one `platform:id` a line
// (x:12345, mastodon:109876, bluesky:did:plc:abc), that a policy names
// under `lists:`. An expression reads them as `author.vip` (the author is
// on the list named vip) and `author.lists` (the names of every list the
// author is on). The policy package reads no files: ParseWithLists takes
// their contents from the caller, who resolves each path against the policy
// file's directory and reloads the policy when a list changes.

// MaxListBytes bounds one list file, checked before it is read.
const MaxListBytes = 16 << 20

// VIPList is the list `author.vip` reads.
const VIPList = "vip"

// AuthorFacts is what the policy's lists say of an author: `author` in CEL.
// For a brand reply it is the customer the reply answers.
type AuthorFacts struct {
	VIP   bool     `cel:"vip"`
	Lists []string `cel:"lists"`
}

// noFacts is the author on no list; shared, never changed.
var noFacts = &AuthorFacts{Lists: []string{}}

// listKey is an author on one platform.
type listKey struct {
	platform fbv1.Platform
	id       string
}

// ListReader returns the contents of the list file a policy names, by the
// path as written in the policy.
type ListReader func(path string) ([]byte, error)

// ListPaths returns the list files a policy names, as written, sorted: what
// a caller reads (and watches) before ParseWithLists. A document that does
// not parse has none; ParseWithLists reports why.
func ListPaths(doc []byte) []string {
	var d struct {
		Lists map[string]string `yaml:"lists"`
	}
	if err := yaml.Unmarshal(doc, &d); err != nil {
		return nil
	}
	paths := slices.Collect(maps.Values(d.Lists))
	slices.Sort(paths)
	return slices.Compact(paths)
}

// ParseWithLists is Parse for a policy that names list files: read returns
// each file's contents. Parse alone refuses such a policy, since it cannot
// read them.
func ParseWithLists(doc []byte, read ListReader) (*Policy, error) {
	return parse(doc, read)
}

// parseLists reads every list the policy names into the author index.
func (p *Policy) parseLists(lists map[string]string, read ListReader) []Problem {
	if len(lists) == 0 {
		return nil
	}
	if read == nil {
		return []Problem{p.top("lists", "lists: this policy names list files, which Parse cannot read; load it with ParseWithLists (the escalation service and `firebreak policy` do)")}
	}
	var errs []Problem
	members := map[listKey][]string{}
	for _, name := range slices.Sorted(maps.Keys(lists)) {
		path := lists[name]
		where := fmt.Sprintf("list %q", name)
		line := p.lines.line("lists", name)
		if !validListName(name) {
			errs = append(errs, Problem{Where: where, Line: line, Message: "name it with lowercase letters, digits, - or _, starting with a letter"})
			continue
		}
		if strings.TrimSpace(path) == "" {
			errs = append(errs, Problem{Where: where, Line: line, Message: "no file: give the path of a file of platform:id lines"})
			continue
		}
		raw, err := read(path)
		if err != nil {
			errs = append(errs, Problem{Where: where, Line: line, Message: fmt.Sprintf("read %s: %v; create it or fix the path (relative to the policy file)", path, err)})
			continue
		}
		p.listData = append(p.listData, raw)
		keys, problems := parseList(raw)
		for _, pr := range problems {
			errs = append(errs, Problem{Where: where, Line: line, Message: path + " " + pr})
		}
		for _, k := range keys {
			members[k] = append(members[k], name)
		}
		p.lists = append(p.lists, List{Name: name, Path: path, Authors: len(keys)})
	}
	p.members = make(map[listKey]*AuthorFacts, len(members))
	for k, names := range members {
		p.members[k] = &AuthorFacts{VIP: slices.Contains(names, VIPList), Lists: slices.Compact(names)}
	}
	return errs
}

func validListName(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_')) {
			return false
		}
	}
	return s != ""
}

// maxListProblems bounds the problems reported for one file: a file in the
// wrong format would otherwise give one per line.
const maxListProblems = 10

// parseList reads `platform:id` lines; # starts a comment.
func parseList(raw []byte) ([]listKey, []string) {
	if len(raw) > MaxListBytes {
		return nil, []string{fmt.Sprintf("is %d bytes; at most %d are read", len(raw), MaxListBytes)}
	}
	var keys []listKey
	var problems []string
	bad := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 4096), MaxListBytes)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, err := parseListLine(line)
		if err != "" {
			if bad++; bad <= maxListProblems {
				problems = append(problems, fmt.Sprintf("line %d: %s", n, err))
			}
			continue
		}
		keys = append(keys, k)
	}
	if bad > maxListProblems {
		problems = append(problems, fmt.Sprintf("and %d more lines like these", bad-maxListProblems))
	}
	return keys, problems
}

func parseListLine(line string) (listKey, string) {
	name, id, ok := strings.Cut(line, ":")
	if !ok {
		return listKey{}, fmt.Sprintf("%q: want platform:id, such as x:12345 or mastodon:109876", line)
	}
	platform, known := listPlatforms[strings.ToLower(strings.TrimSpace(name))]
	if !known {
		return listKey{}, fmt.Sprintf("%q: platform %q is unknown; use x, mastodon, bluesky or generic", line, name)
	}
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return listKey{}, fmt.Sprintf("%q: the id is missing", line)
	case !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsSpace) >= 0:
		return listKey{}, fmt.Sprintf("%q: an id has no spaces; give the account's id, not its name", line)
	case strings.HasPrefix(id, "@"):
		return listKey{}, fmt.Sprintf("%q: give the account's id, not its handle: handles change hands, ids do not", line)
	}
	return listKey{platform, id}, ""
}

// listPlatforms are the platform names a list line may use, as ingest
// accepts them.
var listPlatforms = map[string]fbv1.Platform{
	"x": fbv1.Platform_PLATFORM_X, "twitter": fbv1.Platform_PLATFORM_X,
	"mastodon": fbv1.Platform_PLATFORM_MASTODON,
	"bluesky":  fbv1.Platform_PLATFORM_BLUESKY, "bsky": fbv1.Platform_PLATFORM_BLUESKY,
	"generic": fbv1.Platform_PLATFORM_GENERIC,
}

// List is one list a policy read: its name, file and how many authors it
// holds.
type List struct {
	Name    string
	Path    string
	Authors int
}

// Lists are the lists the policy read, by name.
func (p *Policy) Lists() []List { return slices.Clone(p.lists) }

// Author is what the lists say of the author a decision is about: the
// mention's author, or for a brand reply the customer it answers.
func (p *Policy) Author(in Input) *AuthorFacts {
	if len(p.members) == 0 {
		return noFacts
	}
	author := in.Mention.GetAuthor()
	if in.Mention.GetBrandReply() && in.To != nil {
		author = in.To
	}
	if f, ok := p.members[listKey{in.Mention.GetPlatform(), author.GetId()}]; ok {
		return f
	}
	return noFacts
}
