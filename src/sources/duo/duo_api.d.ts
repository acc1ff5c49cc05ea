/** The signing half of @duosecurity/duo_api (plain CommonJS, no bundled types). */
declare module '@duosecurity/duo_api/lib/duo_sig.js' {
  type Params = Record<string, string | string[]>;
  const duoSig: {
    sign(
      ikey: string,
      skey: string,
      method: string,
      host: string,
      path: string,
      params: Params,
      date: string,
    ): string;
    signV5(
      ikey: string,
      skey: string,
      method: string,
      host: string,
      path: string,
      params: Params,
      date: string,
      body: string,
    ): string;
    _canonParams(params: Params): string;
  };
  export default duoSig;
}
