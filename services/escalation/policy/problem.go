package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a policy: what it is in (`route "repeat"`,
// `chain "senior"`), the line of the policy file, and what is wrong in words
// that say what to do. Parse refuses a policy with every Problem at once;
// Lint reports its warnings as Problems too.
type Problem struct {
	// Where names the route, chain or list; empty for a top-level setting,
	// whose name starts the message.
	Where string
	// Line is the line of the policy file, from 1; 0 when unknown.
	Line    int
	Message string
	// Warning marks a problem that does not stop the policy from running:
	// a route that can never match, an unused chain. Parse never returns
	// one.
	Warning bool
}

// Error renders `route "repeat" (line 42): message`.
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.Where != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s (line %d): ", p.Where, p.Line)
	case p.Where != "":
		b.WriteString(p.Where + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	b.WriteString(p.Message)
	return b.String()
}

// ParseError is a refused policy with every problem found, in file order
// of the parts they are in.
type ParseError struct {
	Problems []Problem
}

func (e *ParseError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return "policy: refused:\n" + strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (e *ParseError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// tree is the policy document as yaml.v3 nodes, kept after decoding so every
// problem can name its line.
type tree struct {
	root *yaml.Node // the top-level mapping; nil if the document is not one
}

func newTree(doc *yaml.Node) tree {
	if doc != nil && doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc == nil || doc.Kind != yaml.MappingNode {
		return tree{}
	}
	return tree{root: doc}
}

// line follows path (mapping keys as strings, sequence indexes as ints)
// and returns the line of the deepest node it reaches: a problem in a field
// that is missing is reported on the line of what holds it.
func (t tree) line(path ...any) int {
	n, line := t.root, 0
	if n != nil {
		line = n.Line
	}
	for _, step := range path {
		next, keyLine := child(n, step)
		if next == nil {
			break
		}
		n, line = next, next.Line
		if keyLine > 0 {
			line = keyLine // a mapping value's key is where the eye goes
		}
	}
	return line
}

// child is the node under n at step, and the line of its key when n is a
// mapping.
func child(n *yaml.Node, step any) (*yaml.Node, int) {
	if n == nil {
		return nil, 0
	}
	switch s := step.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil, 0
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && s >= 0 && s < len(n.Content) {
			return n.Content[s], 0
		}
	}
	return nil, 0
}

// enclosing names the route or chain that holds line, for problems the YAML
// decoder reports by line alone (an unknown field).
func (t tree) enclosing(line int) string {
	if routes, _ := child(t.root, "routes"); routes != nil && routes.Kind == yaml.SequenceNode {
		for i, item := range routes.Content {
			end := int(^uint(0) >> 1)
			if i+1 < len(routes.Content) {
				end = routes.Content[i+1].Line
			}
			if line >= item.Line && line < end {
				name, _ := child(item, "name")
				if name != nil && name.Value != "" {
					return fmt.Sprintf("route %q", name.Value)
				}
				return fmt.Sprintf("route %q", fmt.Sprintf("#%d", i+1))
			}
		}
	}
	if chains, _ := child(t.root, "chains"); chains != nil && chains.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(chains.Content); i += 2 {
			end := int(^uint(0) >> 1)
			if i+2 < len(chains.Content) {
				end = chains.Content[i+2].Line
			}
			if line >= chains.Content[i].Line && line < end {
				return fmt.Sprintf("chain %q", chains.Content[i].Value)
			}
		}
	}
	return ""
}

// decodeProblems turns the YAML decoder's errors ("line 5: field teem not
// found in type policy.routeDocument") into Problems that name the route or
// chain and say it in the policy's words.
func (t tree) decodeProblems(err error) []Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		line, msg := splitLine(strings.TrimPrefix(err.Error(), "yaml: "))
		return []Problem{{Line: line, Message: "not valid YAML: " + msg}}
	}
	out := make([]Problem, 0, len(te.Errors))
	for _, e := range te.Errors {
		line, msg := splitLine(e)
		if field, ok := strings.CutPrefix(msg, "field "); ok {
			if name, _, found := strings.Cut(field, " not found in type "); found {
				msg = fmt.Sprintf("unknown field %q; check its spelling against default.yaml", name)
			}
		}
		out = append(out, Problem{Where: t.enclosing(line), Line: line, Message: msg})
	}
	return out
}

// splitLine reads "line 5: rest" into 5 and "rest".
func splitLine(s string) (int, string) {
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s
	}
	num, msg, ok := strings.Cut(rest, ": ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return 0, s
	}
	return n, msg
}
