package notify

import (
	"fmt"
	"log/slog"
)

// Secret is a credential (a routing key, a webhook URL, a signing secret).
// Every way of printing, logging or marshalling it says "<redacted>", so an
// effective configuration can be logged whole; string(s) reads the value.
type Secret string

const redacted = "<redacted>"

// String redacts.
func (s Secret) String() string { return redacted }

// GoString redacts, for %#v.
func (s Secret) GoString() string { return redacted }

// Format redacts for every verb, %x and %q included.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue redacts in slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts, covering YAML and other text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
