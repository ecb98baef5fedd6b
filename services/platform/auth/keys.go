package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
)

// MinKeyLength refuses keys short enough to guess.
const MinKeyLength = 16

// digestPrefix marks a key stored as its SHA-256 digest, so the Secret
// holding the keys file need not hold the keys themselves.
const digestPrefix = "sha256:"

// Keys are the accepted API keys, by digest. Only SHA-256 digests are kept
// in memory, so a heap dump or a timing probe learns nothing that would let
// anyone forge a key. The zero Keys accepts nothing.
type Keys struct {
	byDigest map[[sha256.Size]byte]Identity
}

// ParseKeys reads a keys file. Each line is
//
//	NAME:KEY roles=ROLE[,ROLE...] [brands=BRAND[,BRAND...]]
//
// where KEY is the key itself (at least 16 characters) or, better, its
// digest as sha256:HEX (`firebreak token new` prints both). The name is
// who the key acts as on case timelines, in logs and in rate limits. A key
// with the ingest role must name its brands (brands=* for all of them).
// Blank lines and lines starting with '#' are skipped.
func ParseKeys(data []byte) (Keys, error) {
	k := Keys{byDigest: map[[sha256.Size]byte]Identity{}}
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		digest, id, err := parseKeyLine(text)
		if err != nil {
			return Keys{}, fmt.Errorf("keys file line %d: %w", line, err)
		}
		if _, dup := k.byDigest[digest]; dup {
			return Keys{}, fmt.Errorf("keys file line %d: key %q is the same key as an earlier line; give each caller its own", line, id.Name)
		}
		if names[id.Name] {
			return Keys{}, fmt.Errorf("keys file line %d: name %q is used twice; names say who acted, so each must be unique", line, id.Name)
		}
		names[id.Name] = true
		k.byDigest[digest] = id
	}
	if err := sc.Err(); err != nil {
		return Keys{}, fmt.Errorf("read keys file: %w", err)
	}
	if len(k.byDigest) == 0 {
		return Keys{}, fmt.Errorf("keys file lists no keys; add one per line as NAME:KEY roles=ROLE (see `firebreak token new`)")
	}
	return k, nil
}

func parseKeyLine(text string) ([sha256.Size]byte, Identity, error) {
	var digest [sha256.Size]byte
	fields := strings.Fields(text)
	name, key, named := strings.Cut(fields[0], ":")
	if !named || name == "" {
		return digest, Identity{}, fmt.Errorf("want NAME:KEY roles=ROLE first; every key needs a name, which is who it acts as")
	}
	if !validName(name) {
		return digest, Identity{}, fmt.Errorf("name %q must be 1-64 letters, digits, '.', '_', '-' or '@'", name)
	}
	digest, err := keyDigest(key)
	if err != nil {
		return digest, Identity{}, fmt.Errorf("key %q: %w", name, err)
	}
	id := Identity{Subject: "key:" + name, Name: name, Method: MethodAPIKey}
	for _, f := range fields[1:] {
		attr, value, _ := strings.Cut(f, "=")
		switch attr {
		case "roles":
			for _, r := range strings.Split(value, ",") {
				role, err := ParseRole(r)
				if err != nil {
					return digest, Identity{}, fmt.Errorf("key %q: %w", name, err)
				}
				id.Roles = append(id.Roles, role)
			}
		case "brands":
			for _, b := range strings.Split(value, ",") {
				if b = strings.TrimSpace(b); b != "" {
					id.Brands = append(id.Brands, b)
				}
			}
		default:
			return digest, Identity{}, fmt.Errorf("key %q: unknown attribute %q; want roles= and brands=", name, f)
		}
	}
	if len(id.Roles) == 0 {
		return digest, Identity{}, fmt.Errorf("key %q has no roles; add roles=viewer, responder, admin, ingest or service", name)
	}
	if slices.Contains(id.Roles, Ingest) && len(id.Brands) == 0 {
		return digest, Identity{}, fmt.Errorf("key %q has the ingest role but no brands; add brands=BRAND[,BRAND] (brands=* for all)", name)
	}
	return digest, id, nil
}

// keyDigest reads KEY or sha256:HEX.
func keyDigest(key string) ([sha256.Size]byte, error) {
	var digest [sha256.Size]byte
	if hexDigest, ok := strings.CutPrefix(key, digestPrefix); ok && len(hexDigest) == 2*sha256.Size {
		if _, err := hex.Decode(digest[:], []byte(hexDigest)); err == nil {
			return digest, nil
		}
	}
	if len(key) < MinKeyLength {
		return digest, fmt.Errorf("a key must be at least %d characters (or sha256:HEX of one); generate one with `firebreak token new`", MinKeyLength)
	}
	return sha256.Sum256([]byte(key)), nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '_' || r == '-' || r == '@' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Len is the number of keys.
func (k Keys) Len() int { return len(k.byDigest) }

// Lookup returns the identity of the key presented. The lookup is by
// digest, so how long it takes depends on the digest's bytes, never on how
// many leading bytes of a guess match a real key.
func (k Keys) Lookup(presented string) (Identity, bool) {
	if presented == "" {
		return Identity{}, false
	}
	id, ok := k.byDigest[sha256.Sum256([]byte(presented))]
	return id, ok
}

// Digest is how a key is written in the keys file without the key itself.
func Digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return digestPrefix + hex.EncodeToString(sum[:])
}

// loadKeys reads a keys file.
func loadKeys(path string) (Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, fmt.Errorf("keys file %s: %w", path, err)
	}
	keys, err := ParseKeys(data)
	if err != nil {
		return Keys{}, fmt.Errorf("keys file %s: %w", path, err)
	}
	return keys, nil
}

// NewKey makes a random API key: "fbk_" and 48 hex digits (192 bits). The
// prefix lets secret scanners recognise a leaked key.
func NewKey() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make an API key: %w", err)
	}
	return "fbk_" + hex.EncodeToString(b[:]), nil
}

// KeyLine is the keys-file line for key, holding only its digest.
func KeyLine(name, key string, roles []Role, brands []string) string {
	parts := make([]string, len(roles))
	for i, r := range roles {
		parts[i] = string(r)
	}
	line := name + ":" + Digest(key) + " roles=" + strings.Join(parts, ",")
	if len(brands) > 0 {
		line += " brands=" + strings.Join(brands, ",")
	}
	return line
}
