// Package policyfile reads a policy file and the VIP and watch lists it
// names from disk, for the escalation service and the CLI. The policy
// package itself reads nothing (DESIGN rule 5); this is its I/O.
package policyfile

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/firebreak/firebreak/services/escalation/policy"
)

// maxPolicyBytes bounds the policy file itself.
const maxPolicyBytes = 4 << 20

// Snapshot is a policy file and its list files as read at one moment.
type Snapshot struct {
	Path string
	Doc  []byte
	// Sum covers the policy and every list it names, so a change to any of
	// them changes it.
	Sum   [sha256.Size]byte
	lists map[string]read
}

type read struct {
	data []byte
	err  error
}

// Read reads the policy at path and the lists it names, resolved against
// the policy file's directory. It fails only when the policy file cannot
// be read; a list that cannot be read is reported by Parse, with its name
// and line.
func Read(path string) (*Snapshot, error) {
	doc, err := readBounded(path, maxPolicyBytes)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	s := &Snapshot{Path: path, Doc: doc, lists: map[string]read{}}
	h := sha256.New()
	h.Write(doc)
	dir := filepath.Dir(path)
	for _, p := range policy.ListPaths(doc) {
		full := p
		if !filepath.IsAbs(p) {
			full = filepath.Join(dir, p)
		}
		data, err := readBounded(full, policy.MaxListBytes)
		s.lists[p] = read{data, err}
		// The path and length go in too, so moving content between
		// files is a change.
		fmt.Fprintf(h, "\x00%s\x00%d\x00", p, len(data))
		h.Write(data)
		if err != nil {
			fmt.Fprintf(h, "error: %v", err)
		}
	}
	copy(s.Sum[:], h.Sum(nil))
	return s, nil
}

// readBounded reads a file of at most limit bytes, refusing a larger one
// before reading it all.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// Parse parses the snapshot's policy with its lists.
func (s *Snapshot) Parse() (*policy.Policy, error) {
	return policy.ParseWithLists(s.Doc, func(p string) ([]byte, error) {
		r, ok := s.lists[p]
		if !ok {
			return nil, errors.New("not read with the policy")
		}
		return r.data, r.err
	})
}

// Load reads and parses the policy at path with its lists.
func Load(path string) (*policy.Policy, error) {
	s, err := Read(path)
	if err != nil {
		return nil, err
	}
	return s.Parse()
}

// Default names the shipped policy (default.yaml) wherever a policy file
// is asked for: the escalation service's --policy-file, whose default it
// is, and the CLI's backtest --policy and --against, policy check and
// policy test. It is the one spelling of "use the default".
const Default = "default"

// IsDefault reports whether name asks for the shipped policy: Default, or
// no name at all, as a zero-valued configuration has. No file backs it, so
// nothing watches it for changes.
func IsDefault(name string) bool { return name == Default || name == "" }

// Open is Load, except that a name IsDefault accepts is the shipped policy.
func Open(name string) (*policy.Policy, error) {
	if IsDefault(name) {
		return policy.Default(), nil
	}
	return Load(name)
}
