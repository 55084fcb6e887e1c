import BSPGenCLI
import Foundation

exit(await BSPGen.main(nil))
