// Loaded with --import into a benchmarked child process: reports its peak RSS on exit, since
// a parent cannot read a finished child's resource usage from Node.
process.on('exit', () => {
  process.stderr.write(`\npeak_rss_kb=${process.resourceUsage().maxRSS}\n`);
});
