// `import x from "./file.so" with { type: "file" }`: the file's path (under /$bunfs in a
// compiled binary, which embeds the file).
declare module "*.so" {
  const path: string;
  export default path;
}
