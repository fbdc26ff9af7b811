// `import x from "./file.c" with { type: "text" }` (Bun embeds the file's text; in a
// compiled binary too).
declare module "*.c" {
  const text: string;
  export default text;
}
