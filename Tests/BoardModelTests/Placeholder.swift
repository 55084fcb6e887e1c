import Testing
@testable import BoardModel
