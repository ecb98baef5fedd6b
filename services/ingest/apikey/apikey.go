// Package apikey reads the file of API keys that ingest's HTTP and gRPC
// edges accept and checks a presented key against it. Only SHA-256 digests
// of the keys are kept in memory, so a heap dump or a timing probe learns
// nothing that would let anyone forge a key. It does no I/O.
package apikey

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// MinKeyLength refuses keys short enough to guess.
const MinKeyLength = 16

// Set is the accepted keys, by digest. The zero Set accepts nothing.
type Set struct {
	names map[[sha256.Size]byte]string
}

// Parse reads a keys file: one key per line, optionally named as
// "name:key" (the name labels logs, metrics and the key's rate limit);
// blank lines and lines starting with '#' are skipped. An unnamed key is
// named after the start of its digest.
func Parse(data []byte) (Set, error) {
	s := Set{names: map[[sha256.Size]byte]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, key, named := strings.Cut(text, ":")
		if !named {
			key, name = name, ""
		}
		name, key = strings.TrimSpace(name), strings.TrimSpace(key)
		if len(key) < MinKeyLength || strings.ContainsAny(key, " \t") {
			return Set{}, fmt.Errorf("api keys line %d: a key must be at least %d characters without spaces; generate one with `openssl rand -hex 24`", line, MinKeyLength)
		}
		sum := sha256.Sum256([]byte(key))
		if name == "" {
			name = "key-" + hex.EncodeToString(sum[:4])
		}
		if _, dup := s.names[sum]; dup {
			return Set{}, fmt.Errorf("api keys line %d: key %q is listed twice; remove one", line, name)
		}
		s.names[sum] = name
	}
	if err := sc.Err(); err != nil {
		return Set{}, fmt.Errorf("read api keys: %w", err)
	}
	if len(s.names) == 0 {
		return Set{}, fmt.Errorf("api keys file lists no keys; add one per line or drop --api-keys-file to turn keys off")
	}
	return s, nil
}

// Len is the number of keys.
func (s Set) Len() int { return len(s.names) }

// Check returns the name of the key presented, or false. The lookup is by
// digest, so how long it takes depends on the digest's bytes, never on how
// many leading bytes of a guess match a real key.
func (s Set) Check(presented string) (string, bool) {
	if presented == "" {
		return "", false
	}
	name, ok := s.names[sha256.Sum256([]byte(presented))]
	return name, ok
}

// FromHeader extracts a key from "Bearer KEY" or a bare key.
func FromHeader(authorization, apiKey string) string {
	if apiKey != "" {
		return strings.TrimSpace(apiKey)
	}
	if k, ok := strings.CutPrefix(authorization, "Bearer "); ok {
		return strings.TrimSpace(k)
	}
	return ""
}
