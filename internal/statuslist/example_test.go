package statuslist_test

import (
	"fmt"

	"github.com/mustard-id/mustard/internal/statuslist"
)

// A 2-bit Token Status List: revoke entry 7, suspend entry 8, encode it
// for a Status List Token and read it back as a relying party does.
func Example() {
	l, _ := statuslist.New(2, 16, statuslist.LSBFirst)
	_ = l.Set(7, uint8(statuslist.Invalid))
	_ = l.Set(8, uint8(statuslist.Suspended))
	j, _ := l.EncodeToken()

	back, _ := statuslist.DecodeToken(j)
	for _, i := range []int{6, 7, 8} {
		v, _ := back.Get(i)
		fmt.Println(i, statuslist.Status(v))
	}
	// Output:
	// 6 valid
	// 7 revoked
	// 8 suspended
}
