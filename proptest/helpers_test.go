package proptest

import "github.com/tcpfsm/tcpfsm/machine"

func testCfg() machine.Config {
	return machine.Config{ISNKey: NearWrapKey()}
}
