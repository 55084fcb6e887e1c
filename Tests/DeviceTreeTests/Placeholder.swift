import Testing
@testable import DeviceTree
