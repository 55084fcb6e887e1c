import Testing
@testable import BSPGenCLI
