package persona

import (
	"fmt"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/zk"
)

// Claims turns a verified statement into persona credential claims: the
// always-visible ones (scope, pseudonym, grade, predicates) and the ones the
// holder may choose to show (age_over_NN, disclosed attributes).
func Claims(st *Statement) (visible, disclosable map[string]any) {
	pub := &st.Public
	visible = map[string]any{
		"scope":     st.Scope,
		"pseudonym": zk.Hex(pub.Pseudonym),
		"grade":     zk.GradeName(pub.MinGrade),
	}
	disclosable = map[string]any{}
	var preds []map[string]any
	birth, _ := zk.AttrByName("birth_date")
	for _, q := range pub.Predicates {
		if q.Op == OpNone {
			continue
		}
		name := AttrName(q.Slot)
		preds = append(preds, map[string]any{"attr": name, "op": q.Op.String(), "value": Describe(q.Slot, q.Value)})
		if q.Slot == SlotOf(birth.Index) && q.Op == OpLe {
			if cutoff, ok := zk.Int64Of(q.Value); ok {
				// birth_date <= cutoff proves age >= N whenever the cutoff is
				// on or before the date N years before the proof's time.
				for _, age := range []int{13, 16, 18, 21, 65} {
					if cutoff <= zk.Days(time.Unix(pub.Now, 0).UTC().AddDate(-age, 0, 0)) {
						disclosable[fmt.Sprintf("age_over_%d", age)] = true
					}
				}
			}
		}
	}
	if preds != nil {
		visible["predicates"] = preds
	}
	for _, d := range pub.Disclosures {
		if d.Slot == NoAttr {
			continue
		}
		disclosable[AttrName(d.Slot)] = Describe(d.Slot, d.Value)
	}
	return visible, disclosable
}

// Describe renders an attribute value for a credential: dates as
// YYYY-MM-DD, countries and integers as numbers, hashed strings as hex.
func Describe(slot int, v fr.Element) any {
	for _, a := range zk.Schema {
		if SlotOf(a.Index) != slot {
			continue
		}
		n, ok := zk.Int64Of(v)
		switch {
		case a.Kind == zk.KindDate && ok:
			return time.Unix(n*86400, 0).UTC().Format(time.DateOnly)
		case (a.Kind == zk.KindCountry || a.Kind == zk.KindInt) && ok:
			return n
		}
	}
	return zk.Hex(v)
}
