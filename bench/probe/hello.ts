// The start-up floor's reference (bench/startup-floor.ts): a Bun program that prints one
// line, compiled by make with exactly the flags of dist/hearth.
console.log("hello");
