package ring_test

import (
	"fmt"

	"github.com/socwarden/warden/internal/ring"
)

// A full ring refuses the newest value instead of evicting an old one, so
// the producer learns about the loss at once.
func Example() {
	r := ring.New[string](2)
	for _, v := range []string{"a", "b", "c"} {
		fmt.Println(v, r.Push(v))
	}
	for {
		v, ok := r.Pop()
		if !ok {
			break
		}
		fmt.Println("popped", v)
	}
	// Output:
	// a true
	// b true
	// c false
	// popped a
	// popped b
}
