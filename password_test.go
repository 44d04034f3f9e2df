package rebound_test

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/reboundhq/rebound"
)

func TestHashPassword(t *testing.T) {
	h, err := rebound.HashPassword("open sesame")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != rebound.PasswordCost {
		t.Fatalf("cost %d (%v), want %d", cost, err, rebound.PasswordCost)
	}
	if !rebound.CheckPassword([]byte(h), []byte("open sesame")) || rebound.CheckPassword([]byte(h), []byte("open sesame ")) {
		t.Fatal("CheckPassword does not tell the password from another")
	}
	for _, bad := range []string{"", string(make([]byte, rebound.MaxPasswordLen+1))} {
		if _, err := rebound.HashPassword(bad); rebound.ErrorField(err) != "password" {
			t.Errorf("%d bytes: %v", len(bad), err)
		}
	}
}

// BenchmarkPasswordCheck is what chose PasswordCost: one check of a wrong
// password at bcrypt costs 8, 10 and 12 (docs/decisions.md has the run).
func BenchmarkPasswordCheck(b *testing.B) {
	for _, cost := range []int{8, 10, 12} {
		h, err := bcrypt.GenerateFromPassword([]byte("open sesame"), cost)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("cost=%d", cost), func(b *testing.B) {
			for b.Loop() {
				rebound.CheckPassword(h, []byte("a wrong guess"))
			}
		})
	}
}
