package committer

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// hiddenKeys are fields that carry yaml tags for other users of their
// struct (hive.Config is also decoded on its own) but that landfall's
// configuration spells elsewhere: writing them is an error that says where
// the key is, never a message that names a key the user can't write.
var hiddenKeys = map[string]string{
	"hive.commit_steps": "commit.steps",
}

var durationType = reflect.TypeOf(time.Duration(0))

// checkNode walks a decoded YAML document against the yaml tags of t and
// returns one error per problem, each naming the full key as the user
// writes it (kafka.fetch_max_bytes, hive.metastore.uris[1]). yaml.v3's own
// errors name Go types and fields (field fetch_max_byte not found in type
// committer.KafkaConfig), which a user can't map back to the file.
func checkNode(n *yaml.Node, t reflect.Type, key string) []error {
	for n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) == 0 {
			return nil
		} else {
			n = n.Content[0]
		}
	}
	if n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // an empty value leaves the default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := key
	if name == "" {
		name = "the configuration"
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			return []error{fmt.Errorf("%s: want a duration, e.g. 10s", name)}
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			if n.Tag == "!!int" || n.Tag == "!!float" {
				return []error{fmt.Errorf("%s: %s is not a duration; write e.g. %ss (units: ms, s, m, h)", name, n.Value, n.Value)}
			}
			return []error{fmt.Errorf("%s: %q is not a duration; write e.g. 10s (units: ms, s, m, h)", name, n.Value)}
		}
		return nil
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return []error{fmt.Errorf("%s: want a section of keys (key: value), found %s", name, describe(n))}
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			if _, hidden := hiddenKeys[join(key, tag)]; hidden {
				continue
			}
			fields[tag] = f.Type
			names = append(names, tag)
		}
		var errs []error
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			full := join(key, k.Value)
			ft, ok := fields[k.Value]
			switch {
			case ok && seen[k.Value]:
				errs = append(errs, fmt.Errorf("%s: set twice (lines %d and %d); keep one", full, firstLine(n, k.Value), k.Line))
			case ok:
				errs = append(errs, checkNode(v, ft, full)...)
			case hiddenKeys[full] != "":
				errs = append(errs, fmt.Errorf("%s: unknown key (landfall's configuration lists it under %s)", full, hiddenKeys[full]))
			default:
				msg := fmt.Sprintf("%s: unknown key", full)
				if near := nearest(k.Value, names); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", join(key, near))
				} else if len(names) > 0 {
					msg += fmt.Sprintf(" (%s takes %s)", name, strings.Join(names, ", "))
				}
				errs = append(errs, errors.New(msg))
			}
			seen[k.Value] = true
		}
		return errs
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return []error{fmt.Errorf("%s: want a list, e.g. [a, b], found %s", name, describe(n))}
		}
		var errs []error
		for i, v := range n.Content {
			errs = append(errs, checkNode(v, t.Elem(), fmt.Sprintf("%s[%d]", key, i))...)
		}
		return errs
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return []error{fmt.Errorf("%s: want a map (key: value), found %s", name, describe(n))}
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, checkNode(n.Content[i+1], t.Elem(), join(key, n.Content[i].Value))...)
		}
		return errs
	}
	// A scalar: let yaml decode it alone and say in words what it wanted.
	if n.Kind != yaml.ScalarNode {
		return []error{fmt.Errorf("%s: want %s, found %s", name, want(t), describe(n))}
	}
	// yaml.v3 also reads yes, on, y as true (YAML 1.1); a switch like
	// insecure_skip_verify must be turned on by exactly "true".
	if t.Kind() == reflect.Bool && n.Value != "true" && n.Value != "false" {
		return []error{fmt.Errorf("%s: %s is not true or false; write true or false", name, describe(n))}
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		return []error{fmt.Errorf("%s: %s is not %s", name, describe(n), want(t))}
	}
	return nil
}

func join(key, k string) string {
	if key == "" {
		return k
	}
	return key + "." + k
}

func firstLine(m *yaml.Node, k string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return m.Content[i].Line
		}
	}
	return 0
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section of keys"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.Tag == "!!str" {
		return fmt.Sprintf("%q", n.Value)
	}
	return n.Value
}

func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a " + t.String()
}

// nearest is the candidate closest to k by edit distance, when it is close
// enough to be the key the user meant: at most a third of its length away
// (and at least 2 edits allowed, for short keys).
func nearest(k string, candidates []string) string {
	best, bestD := "", max(2, len(k)/3)+1
	for _, c := range candidates {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
