import Foundation
import Testing
@testable import Host

@Suite struct JobserverTests {
    @Test func aMakeOfTheJobserverIsShownWithTheJobsItShared() throws {
        var command = Command("make", ["-C", "/src", "bzImage"])
        command.jobserver = try #require(Jobserver(tokens: 5))
        #expect(command.description == "make -C /src bzImage -j5")
        #expect(Jobserver(tokens: 0) == nil)
    }
}
