package steps

import "testing"

func TestBumpName(t *testing.T) {
	const sfx = "_milink_0123abcd"
	for in, want := range map[string]string{
		"TestMILinkConnection":              "TestMILinkConnection" + sfx,
		"TestMILinkConnection" + sfx:        "TestMILinkConnection" + sfx + "_2",
		"TestMILinkConnection" + sfx + "_2": "TestMILinkConnection" + sfx + "_3",
		"TestMILinkConnection" + sfx + "_x": "TestMILinkConnection" + sfx + "_x" + sfx,
		"NetHelper_milink_ffffffff":         "NetHelper_milink_ffffffff" + sfx,
	} {
		if got := bumpName(in, sfx); got != want {
			t.Errorf("bumpName(%q) = %q, want %q", in, got, want)
		}
	}
}
