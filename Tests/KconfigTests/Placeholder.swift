import Testing
@testable import Kconfig
