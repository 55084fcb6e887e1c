import BSPGenCLI

await BSPGen.main()
