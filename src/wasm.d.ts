// `import path from "x.wasm" with { type: "file" }`: the path of a file that
// `bun build --compile` embeds in the executable (media/codecs.ts).
declare module "*.wasm" {
  const path: string;
  export default path;
}
