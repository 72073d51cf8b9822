package security

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Secret holds a password or a token read from a file or the environment.
// Every way of printing it — fmt's verbs including %#v, slog, JSON, text
// marshalling — yields "[redacted]", so a Secret that ends up in a log
// line or an error by mistake leaks nothing. Reveal is the one way out.
type Secret struct{ v string }

const redacted = "[redacted]"

// Reveal returns the secret itself, for the client that sends it.
func (s Secret) Reveal() string { return s.v }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter: every verb prints [redacted].
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler (and so JSON and YAML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// ReadSecret reads a secret from the file named by the key fileKey, or
// else from the environment variable named by envKey. A trailing newline
// is dropped (editors and `echo` add one); an empty secret is an error.
// Errors name the key and the file or variable, never the content.
func ReadSecret(fileKey, file, envKey, env string) (Secret, error) {
	switch {
	case file != "" && env != "":
		return Secret{}, fmt.Errorf("%s and %s: both set; set one", fileKey, envKey)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return Secret{}, fmt.Errorf("%s: %w; make the file readable by landfall's user", fileKey, pathErr(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return Secret{}, fmt.Errorf("%s: %s is empty; write the secret in it (a trailing newline is ignored)", fileKey, file)
		}
		return Secret{v}, nil
	case env != "":
		v := strings.TrimRight(os.Getenv(env), "\r\n")
		if v == "" {
			return Secret{}, fmt.Errorf("%s: the environment variable %s is unset or empty; export the secret in it", envKey, env)
		}
		return Secret{v}, nil
	}
	return Secret{}, fmt.Errorf("%s: missing: name the file that holds the secret (or %s, an environment variable)", fileKey, envKey)
}

// pathErr keeps the path and the reason of a file error, without the
// operation's verb ("open"), which reads oddly after a key.
func pathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}
