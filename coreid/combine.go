package coreid

import (
	"fmt"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// Combined is the result of several verified sources about one person.
type Combined struct {
	Attrs map[string]string
	Grade uint64
}

// Combine merges the sources of one enrollment. They must come from
// different source issuers (a second credential from the same issuer adds
// no independent evidence) and agree on every attribute they share (two
// people's credentials cannot be pooled). The grade follows the
// framework's rule:
//
//   - trust.GradeRuleMax (default): the highest source grade.
//   - trust.GradeRuleTwoForHigh: the highest source grade, but "high"
//     only with at least two independent sources each at least
//     "substantial"; otherwise at most "substantial".
func Combine(fw *trust.Document, srcs []*Source) (*Combined, error) {
	if len(srcs) == 0 {
		return nil, ErrSource
	}
	out := &Combined{Attrs: map[string]string{}}
	issuers := map[string]bool{}
	strong := 0
	for _, s := range srcs {
		if issuers[s.Issuer.ID] {
			return nil, fmt.Errorf("%w: two credentials from one source issuer", ErrInconsistent)
		}
		issuers[s.Issuer.ID] = true
		for k, v := range s.Attrs {
			if prev, ok := out.Attrs[k]; ok && !sameValue(k, prev, v) {
				return nil, ErrInconsistent
			}
			out.Attrs[k] = v
		}
		out.Grade = max(out.Grade, s.Grade)
		if s.Grade >= zk.GradeSubstantial {
			strong++
		}
	}
	switch fw.GradeRule {
	case "", trust.GradeRuleMax:
	case trust.GradeRuleTwoForHigh:
		if out.Grade >= zk.GradeHigh && strong < 2 {
			out.Grade = zk.GradeSubstantial
		}
	default:
		return nil, fmt.Errorf("coreid: unknown grade rule %q in the framework", fw.GradeRule)
	}
	return out, nil
}

// sameValue compares two textual values of attribute name as the schema
// normalizes them ("NL" and "528" are one nationality).
func sameValue(name, a, b string) bool {
	if a == b {
		return true
	}
	attr, ok := zk.AttrByName(name)
	if !ok {
		return false
	}
	x, errA := attr.Encode(a)
	y, errB := attr.Encode(b)
	return errA == nil && errB == nil && x.Equal(&y)
}
