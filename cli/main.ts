// Entry point of the `tally` command (bin/tally.js runs this).
import { main } from './program.js'

process.exitCode = await main(process.argv)
