import Testing
@testable import Initramfs
